#include "actors/noisy_expert.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/discrete_obs.h"
#include "common/status_macros.h"

namespace ad::actors {
namespace {

class NoisyExpertAgent : public SourceAgent {
 public:
  NoisyExpertAgent(const TaskSpec& spec, const NoisyExpertOptions& options)
      : options_(options),
        num_actions_(spec.space.num_actions),
        budget_(spec.episodes_per_stream),
        episodes_(spec.num_streams, 0) {
    for (int i = 0; i < spec.num_streams; ++i) {
      rngs_.push_back(StreamRng(spec.seed, static_cast<uint64_t>(i)));
    }
  }

  bool UsesExpertActions() const override { return true; }

  absl::Status Act(absl::Span<const int32_t> /*obs*/,
                   absl::Span<const int32_t> expert,
                   absl::Span<int32_t> actions) override {
    if (expert.size() != actions.size()) {
      return absl::InternalError("noisy_expert: expert actions missing");
    }
    for (size_t i = 0; i < actions.size(); ++i) {
      const double eps = NoisyExpertEpsilon(options_, episodes_[i], budget_);
      std::mt19937_64& rng = rngs_[i];
      if (eps > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < eps) {
        actions[i] =
            std::uniform_int_distribution<int>(0, num_actions_ - 1)(rng);
      } else {
        actions[i] = expert[i];
      }
    }
    return absl::OkStatus();
  }

  absl::Status Observe(const StepView& step) override {
    for (size_t i = 0; i < step.dones.size(); ++i)
      episodes_[i] += step.dones[i];
    return absl::OkStatus();
  }

 private:
  const NoisyExpertOptions options_;
  const int num_actions_;
  const int budget_;
  std::vector<int> episodes_;  // completed, per stream
  std::vector<std::mt19937_64> rngs_;
};

}  // namespace

absl::Status NoisyExpertOptions::Validate() const {
  for (double v : {epsilon_start, epsilon_end}) {
    if (v < 0 || v > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("noisy_expert epsilon_start/epsilon_end is ", v,
                       "; must be in [0, 1]"));
    }
  }
  return absl::OkStatus();
}

double NoisyExpertEpsilon(const NoisyExpertOptions& options, int episode,
                          int episodes) {
  if (episodes <= 1) return options.epsilon_end;
  const double frac =
      std::min(1.0, static_cast<double>(episode) / (episodes - 1));
  return options.epsilon_start +
         frac * (options.epsilon_end - options.epsilon_start);
}

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeNoisyExpertAgent(
    const TaskSpec& spec, const SourceParams& params) {
  NoisyExpertOptions o;
  AD_ASSIGN_OR_RETURN(o.epsilon_start,
                      params.Double("noisy_expert", "epsilon_start", 1.0));
  AD_ASSIGN_OR_RETURN(o.epsilon_end,
                      params.Double("noisy_expert", "epsilon_end", 0.0));
  AD_RETURN_IF_ERROR(o.Validate());
  return std::make_unique<NoisyExpertAgent>(spec, o);
}

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeExpertAgent(
    const TaskSpec& spec, const SourceParams& /*params*/) {
  return std::make_unique<NoisyExpertAgent>(
      spec, NoisyExpertOptions{/*epsilon_start=*/0, /*epsilon_end=*/0});
}

}  // namespace ad::actors
