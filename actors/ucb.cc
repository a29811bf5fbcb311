#include "actors/ucb.h"

#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/discrete_obs.h"
#include "common/status_macros.h"

namespace ad::actors {
namespace {

class UcbAgent : public SourceAgent {
 public:
  UcbAgent(const TaskSpec& spec, double exploration)
      : exploration_(exploration), num_actions_(spec.space.num_actions) {
    for (int i = 0; i < spec.num_streams; ++i) {
      counts_.emplace_back(num_actions_, 0);
      sums_.emplace_back(num_actions_, 0.0);
      rngs_.push_back(StreamRng(spec.seed, static_cast<uint64_t>(i)));
    }
    pulls_.assign(spec.num_streams, 0);
  }

  absl::Status Act(absl::Span<const int32_t> /*obs*/,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    std::vector<float> score(num_actions_);
    for (size_t i = 0; i < actions.size(); ++i) {
      const double log_t = std::log(static_cast<double>(pulls_[i]) + 1.0);
      for (int a = 0; a < num_actions_; ++a) {
        const int64_t n = counts_[i][a];
        // Unpulled arms first (in random order among themselves).
        score[a] =
            n == 0
                ? std::numeric_limits<float>::infinity()
                : static_cast<float>(sums_[i][a] / n +
                                     exploration_ * std::sqrt(2.0 * log_t / n));
      }
      actions[i] = ArgmaxRandomTie(score, rngs_[i]);
    }
    return absl::OkStatus();
  }

  absl::Status Observe(const StepView& step) override {
    for (size_t i = 0; i < step.actions.size(); ++i) {
      ++counts_[i][step.actions[i]];
      sums_[i][step.actions[i]] += step.rewards[i];
      ++pulls_[i];
    }
    return absl::OkStatus();
  }

 private:
  const double exploration_;
  const int num_actions_;
  std::vector<std::vector<int64_t>> counts_;  // [stream][arm]
  std::vector<std::vector<double>> sums_;     // [stream][arm] reward sums
  std::vector<int64_t> pulls_;                // [stream]
  std::vector<std::mt19937_64> rngs_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeUcbAgent(
    const TaskSpec& spec, const SourceParams& params) {
  AD_ASSIGN_OR_RETURN(double c, params.Double("ucb", "exploration", 1.0));
  if (!(c >= 0 && c <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ucb.exploration is ", c, "; must be in [0, 100]"));
  }
  return std::make_unique<UcbAgent>(spec, c);
}

}  // namespace ad::actors
