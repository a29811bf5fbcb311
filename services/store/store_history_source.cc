#include "services/store/store_history_source.h"

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"

namespace ad::services::store {
namespace {

class StoreHistorySource : public evaluator::HistorySource {
 public:
  StoreHistorySource(std::string address, std::unique_ptr<StoreClient> client)
      : address_(std::move(address)), client_(std::move(client)) {}

  std::string Describe() const override {
    return absl::StrFormat("store %s", address_);
  }

  absl::StatusOr<std::vector<ad::v1::HistoryMeta>> Histories(
      const std::string& env, const std::string& task_id) override {
    return client_->QueryTask(env, task_id);
  }

  absl::StatusOr<ad::v1::TransitionBatch> Transitions(
      const std::string& history_id, uint64_t begin, uint64_t end) override {
    absl::StatusOr<ad::v1::GetHistoryResponse> response =
        client_->GetHistory(history_id, begin, end);
    if (!response.ok()) return response.status();
    return std::move(*response->mutable_transitions());
  }

 private:
  const std::string address_;
  const std::unique_ptr<StoreClient> client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<evaluator::HistorySource>>
MakeStoreHistorySource(const StoreClient::Options& options) {
  absl::StatusOr<std::unique_ptr<StoreClient>> client =
      StoreClient::Create(options);
  if (!client.ok()) return client.status();
  return std::make_unique<StoreHistorySource>(options.address,
                                              *std::move(client));
}

evaluator::StoreOpener StoreHistoryOpener() {
  return [](const std::string& address) {
    StoreClient::Options options;
    options.address = address;
    return MakeStoreHistorySource(options);
  };
}

}  // namespace ad::services::store
