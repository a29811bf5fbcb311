#include "evaluator/file_history_source.h"

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "actors/file_sink.h"
#include "common/status_macros.h"

namespace ad::evaluator {
namespace {

class FileHistorySource : public HistorySource {
 public:
  explicit FileHistorySource(std::string directory)
      : directory_(std::move(directory)) {}

  absl::Status Load() {
    AD_ASSIGN_OR_RETURN(std::vector<actors::RecordedHistory> all,
                        actors::ReadHistoryDirectory(directory_));
    for (auto& history : all) {
      AD_RETURN_IF_ERROR(
          memory_.Add(std::move(history.meta), std::move(history.transitions)));
    }
    return absl::OkStatus();
  }

  std::string Describe() const override {
    return absl::StrFormat("history files in %s", directory_);
  }
  absl::StatusOr<std::vector<ad::v1::HistoryMeta>> Histories(
      const std::string& env, const std::string& task_id) override {
    return memory_.Histories(env, task_id);
  }
  absl::StatusOr<ad::v1::TransitionBatch> Transitions(
      const std::string& history_id, uint64_t begin, uint64_t end) override {
    return memory_.Transitions(history_id, begin, end);
  }

 private:
  std::string directory_;
  InMemoryHistorySource memory_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HistorySource>> MakeFileHistorySource(
    const std::string& directory) {
  auto source = std::make_unique<FileHistorySource>(directory);
  AD_RETURN_IF_ERROR(source->Load());
  return source;
}

}  // namespace ad::evaluator
