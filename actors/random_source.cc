#include "actors/random_source.h"

#include <random>
#include <vector>

#include "actors/discrete_obs.h"

namespace ad::actors {
namespace {

class RandomAgent : public SourceAgent {
 public:
  explicit RandomAgent(const TaskSpec& spec)
      : num_actions_(spec.space.num_actions) {
    for (int i = 0; i < spec.num_streams; ++i) {
      rngs_.push_back(StreamRng(spec.seed, static_cast<uint64_t>(i)));
    }
  }
  absl::Status Act(absl::Span<const int32_t> /*obs*/,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    for (size_t i = 0; i < actions.size(); ++i) {
      actions[i] =
          std::uniform_int_distribution<int>(0, num_actions_ - 1)(rngs_[i]);
    }
    return absl::OkStatus();
  }
  absl::Status Observe(const StepView& /*step*/) override {
    return absl::OkStatus();
  }

 private:
  const int num_actions_;
  std::vector<std::mt19937_64> rngs_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeRandomAgent(
    const TaskSpec& spec, const SourceParams& /*params*/) {
  return std::make_unique<RandomAgent>(spec);
}

}  // namespace ad::actors
