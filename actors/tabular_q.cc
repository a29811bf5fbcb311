#include "actors/tabular_q.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/discrete_obs.h"
#include "common/status_macros.h"

namespace ad::actors {
namespace {

constexpr char kName[] = "tabular_q";
constexpr int64_t kMaxRewardMemory = 64;

absl::Status CheckRewardMemory(int64_t memory) {
  if (memory >= 0 && memory <= kMaxRewardMemory) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("tabular_q.reward_memory is ",
                                                 memory, "; must be in [0, ",
                                                 kMaxRewardMemory, "]"));
}

class TabularQAgent : public SourceAgent {
 public:
  TabularQAgent(const TaskSpec& spec, const TabularQOptions& options,
                StateIndexer indexer)
      : options_(options),
        indexer_(std::move(indexer)),
        num_actions_(spec.space.num_actions),
        obs_dim_(spec.space.obs_dim),
        memory_(std::max(1, options.reward_memory)),
        decay_episodes_(std::max(
            1.0, options.epsilon_decay_fraction * spec.episodes_per_stream)),
        episodes_(spec.num_streams, 0),
        rewarded_steps_(spec.num_streams, 0) {
    const size_t table = static_cast<size_t>(indexer_.num_states()) *
                         static_cast<size_t>(memory_) *
                         static_cast<size_t>(num_actions_);
    for (int i = 0; i < spec.num_streams; ++i) {
      q_.emplace_back(table, static_cast<float>(options.q_init));
      rngs_.push_back(StreamRng(spec.seed, static_cast<uint64_t>(i)));
    }
  }

  absl::Status Act(absl::Span<const int32_t> obs,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    for (size_t i = 0; i < actions.size(); ++i) {
      std::mt19937_64& rng = rngs_[i];
      const double frac = std::min(1.0, episodes_[i] / decay_episodes_);
      const double eps = options_.epsilon_start +
                         frac * (options_.epsilon_end - options_.epsilon_start);
      if (std::uniform_real_distribution<double>(0, 1)(rng) < eps) {
        actions[i] =
            std::uniform_int_distribution<int>(0, num_actions_ - 1)(rng);
      } else {
        actions[i] =
            ArgmaxRandomTie(Row(i, StreamObs(obs, i), rewarded_steps_[i]), rng);
      }
    }
    return absl::OkStatus();
  }

  absl::Status Observe(const StepView& step) override {
    for (size_t i = 0; i < step.actions.size(); ++i) {
      absl::Span<float> row =
          Row(i, StreamObs(step.obs, i), rewarded_steps_[i]);
      // What the agent remembers after this step (its next state's count).
      const int next_count = rewarded_steps_[i] + (step.rewards[i] > 0 ? 1 : 0);
      double target = step.rewards[i];
      if (step.dones[i] == 0) {
        absl::Span<float> next =
            Row(i, StreamObs(step.next_obs, i), next_count);
        target +=
            options_.discount * *std::max_element(next.begin(), next.end());
        rewarded_steps_[i] = next_count;
      } else {
        ++episodes_[i];
        rewarded_steps_[i] = 0;  // memory is of the episode
      }
      float& q = row[step.actions[i]];
      q += static_cast<float>(options_.learning_rate * (target - q));
    }
    return absl::OkStatus();
  }

 private:
  absl::Span<const int32_t> StreamObs(absl::Span<const int32_t> obs,
                                      size_t i) const {
    return obs.subspan(i * obs_dim_, obs_dim_);
  }
  // The table row of observation `o` with `rewarded` rewarded steps seen
  // this episode (capped at memory_ - 1; memory_ 1: the observation alone).
  absl::Span<float> Row(size_t stream, absl::Span<const int32_t> o,
                        int rewarded) {
    const size_t state = static_cast<size_t>(indexer_.Index(o)) * memory_ +
                         static_cast<size_t>(std::min(rewarded, memory_ - 1));
    return absl::MakeSpan(q_[stream])
        .subspan(state * num_actions_, num_actions_);
  }

  const TabularQOptions options_;
  const StateIndexer indexer_;
  const int num_actions_;
  const int obs_dim_;
  const int memory_;  // reward-count levels in the state, >= 1
  const double decay_episodes_;
  std::vector<int> episodes_;          // completed, per stream
  std::vector<int> rewarded_steps_;    // this episode, per stream
  std::vector<std::vector<float>> q_;  // per stream: [state][action]
  std::vector<std::mt19937_64> rngs_;  // per stream
};

}  // namespace

absl::StatusOr<TabularQOptions> TabularQOptions::FromParams(
    const SourceParams& p) {
  TabularQOptions o;
  AD_ASSIGN_OR_RETURN(o.learning_rate,
                      p.Double(kName, "learning_rate", o.learning_rate));
  AD_ASSIGN_OR_RETURN(o.discount, p.Double(kName, "discount", o.discount));
  AD_ASSIGN_OR_RETURN(o.q_init, p.Double(kName, "q_init", o.q_init));
  AD_ASSIGN_OR_RETURN(o.epsilon_start,
                      p.Double(kName, "epsilon_start", o.epsilon_start));
  AD_ASSIGN_OR_RETURN(o.epsilon_end,
                      p.Double(kName, "epsilon_end", o.epsilon_end));
  AD_ASSIGN_OR_RETURN(
      o.epsilon_decay_fraction,
      p.Double(kName, "epsilon_decay_fraction", o.epsilon_decay_fraction));
  AD_ASSIGN_OR_RETURN(const int64_t memory,
                      p.Int(kName, "reward_memory", o.reward_memory));
  // Checked before narrowing to int, so a huge value is named as given.
  AD_RETURN_IF_ERROR(CheckRewardMemory(memory));
  o.reward_memory = static_cast<int>(memory);
  AD_RETURN_IF_ERROR(o.Validate());
  return o;
}

absl::Status TabularQOptions::Validate() const {
  auto in01 = [](const char* name, double v) -> absl::Status {
    if (v >= 0 && v <= 1) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("tabular_q.", name, " is ", v, "; must be in [0, 1]"));
  };
  AD_RETURN_IF_ERROR(in01("learning_rate", learning_rate));
  AD_RETURN_IF_ERROR(in01("discount", discount));
  AD_RETURN_IF_ERROR(in01("epsilon_start", epsilon_start));
  AD_RETURN_IF_ERROR(in01("epsilon_end", epsilon_end));
  AD_RETURN_IF_ERROR(in01("epsilon_decay_fraction", epsilon_decay_fraction));
  return CheckRewardMemory(reward_memory);
}

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeTabularQAgent(
    const TaskSpec& spec, const SourceParams& params) {
  AD_ASSIGN_OR_RETURN(TabularQOptions options,
                      TabularQOptions::FromParams(params));
  AD_ASSIGN_OR_RETURN(
      StateIndexer indexer,
      StateIndexer::Create(spec.space, /*max_states=*/(1 << 22) /
                                           std::max(1, options.reward_memory)));
  return std::make_unique<TabularQAgent>(spec, options, std::move(indexer));
}

}  // namespace ad::actors
