#include "actors/rmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/discrete_obs.h"
#include "common/status_macros.h"

namespace ad::actors {
namespace {

constexpr char kName[] = "rmax";
constexpr int64_t kMaxRewardMemory = 64;
constexpr int64_t kMaxSweeps = 100000;
constexpr int64_t kMaxPairs = int64_t{1} << 22;  // per stream
// Value iteration stops once no state value moved more than this.
constexpr float kConverged = 1e-5f;
constexpr int32_t kNone = -1;
// A pair seen only as an episode's last step, with a reward: the plan takes
// the reward and ends there.
constexpr int32_t kEnded = -2;

// How often an action has changed the observation by one delta.
struct DeltaCount {
  std::vector<int32_t> delta;
  int64_t count = 0;
};

// One stream's model of its task and the values planned on it. States are
// observation index * memory + reward-count level.
struct StreamModel {
  std::vector<uint8_t> visited;  // [state]
  // [state * A + a]: next state seen, kNone, or kEnded.
  std::vector<int32_t> next;
  std::vector<float> reward;  // [state * A + a]: reward seen
  // [observation * memory + level]: reward last seen on entering that
  // observation from that level (0 until seen).
  std::vector<float> reward_into;
  std::vector<std::vector<DeltaCount>> deltas;  // [a]: effects seen
  // [observation * A + a]: the observation action a usually leads to, or
  // kNone while a has never been tried.
  std::vector<int32_t> predicted;
  std::vector<float> value;  // [state]: max over actions of Q
  bool dirty = true;         // the model changed since the last plan
  int rewarded_steps = 0;    // this episode
};

class RmaxAgent : public SourceAgent {
 public:
  RmaxAgent(const TaskSpec& spec, const RmaxOptions& options,
            StateIndexer indexer)
      : options_(options),
        indexer_(std::move(indexer)),
        high_(spec.space.obs_high),
        num_actions_(spec.space.num_actions),
        obs_dim_(spec.space.obs_dim),
        memory_(std::max(1, options.reward_memory)),
        num_obs_(indexer_.num_states()),
        num_states_(num_obs_ * memory_),
        discount_(static_cast<float>(options.discount)),
        novelty_(static_cast<float>(options.novelty_value)) {
    // Every observation's components, in the indexer's (row-major) order.
    obs_of_.resize(static_cast<size_t>(num_obs_) * obs_dim_);
    for (int64_t o = 0; o < num_obs_; ++o) {
      int64_t rest = o;
      for (int d = obs_dim_ - 1; d >= 0; --d) {
        obs_of_[o * obs_dim_ + d] = static_cast<int32_t>(rest % high_[d]);
        rest /= high_[d];
      }
    }
    const size_t pairs = static_cast<size_t>(num_states_) * num_actions_;
    for (int i = 0; i < spec.num_streams; ++i) {
      StreamModel m;
      m.visited.assign(num_states_, 0);
      m.next.assign(pairs, kNone);
      m.reward.assign(pairs, 0.0f);
      m.reward_into.assign(num_states_, 0.0f);
      m.deltas.resize(num_actions_);
      m.predicted.assign(static_cast<size_t>(num_obs_) * num_actions_, kNone);
      m.value.assign(num_states_, 0.0f);
      models_.push_back(std::move(m));
      rngs_.push_back(StreamRng(spec.seed, static_cast<uint64_t>(i)));
    }
    q_row_.resize(num_actions_);
  }

  absl::Status Act(absl::Span<const int32_t> obs,
                   absl::Span<const int32_t> /*expert*/,
                   absl::Span<int32_t> actions) override {
    for (size_t i = 0; i < actions.size(); ++i) {
      StreamModel& m = models_[i];
      const int64_t s = ObsIndex(obs, i) * memory_ + Level(m.rewarded_steps);
      Visit(m, s);  // an episode's first state
      if (m.dirty) Plan(m);
      for (int a = 0; a < num_actions_; ++a) q_row_[a] = Q(m, s, a);
      actions[i] = ArgmaxWithinTolerance(q_row_, rngs_[i]);
    }
    return absl::OkStatus();
  }

  absl::Status Observe(const StepView& step) override {
    for (size_t i = 0; i < step.actions.size(); ++i) {
      StreamModel& m = models_[i];
      const float r = step.rewards[i];
      const int level = Level(m.rewarded_steps);
      const int64_t o = ObsIndex(step.obs, i);
      const int a = step.actions[i];
      const size_t p =
          static_cast<size_t>(o * memory_ + level) * num_actions_ + a;
      if (step.dones[i] != 0) {  // next_obs is the next episode's start
        // Where the step led is unknown; a reward found on an episode's last
        // step is still worth coming back for.
        if (r > 0 && m.next[p] == kNone) {
          m.next[p] = kEnded;
          m.reward[p] = r;
          m.dirty = true;
        }
        m.rewarded_steps = 0;
        continue;
      }
      m.rewarded_steps += r > 0 ? 1 : 0;
      const int64_t o2 = ObsIndex(step.next_obs, i);
      const int64_t s2 = o2 * memory_ + Level(m.rewarded_steps);
      Visit(m, s2);
      if (m.next[p] != s2 || m.reward[p] != r) {
        m.next[p] = static_cast<int32_t>(s2);
        m.reward[p] = r;
        m.dirty = true;
      }
      float& into = m.reward_into[o2 * memory_ + level];
      if (into != r) {
        into = r;
        m.dirty = true;
      }
      LearnEffect(m, a, o, o2);
    }
    return absl::OkStatus();
  }

 private:
  int64_t ObsIndex(absl::Span<const int32_t> obs, size_t stream) const {
    return indexer_.Index(obs.subspan(stream * obs_dim_, obs_dim_));
  }
  int Level(int rewarded) const { return std::min(rewarded, memory_ - 1); }

  static void Visit(StreamModel& m, int64_t s) {
    if (m.visited[s] != 0) return;
    m.visited[s] = 1;
    m.dirty = true;
  }

  // Counts the observation change a caused; when its most frequent change
  // is a new one, re-predicts a's untried pairs everywhere.
  void LearnEffect(StreamModel& m, int a, int64_t from, int64_t to) {
    std::vector<int32_t> delta(obs_dim_);
    for (int d = 0; d < obs_dim_; ++d) {
      delta[d] = obs_of_[to * obs_dim_ + d] - obs_of_[from * obs_dim_ + d];
    }
    std::vector<DeltaCount>& seen = m.deltas[a];
    const DeltaCount* before = MostFrequent(seen);
    const std::vector<int32_t> old =
        before != nullptr ? before->delta : std::vector<int32_t>{};
    auto it = std::find_if(seen.begin(), seen.end(), [&](const DeltaCount& c) {
      return c.delta == delta;
    });
    if (it == seen.end()) {
      seen.push_back({delta, 1});
    } else {
      ++it->count;
    }
    const std::vector<int32_t>& now = MostFrequent(seen)->delta;
    if (before != nullptr && now == old) return;
    std::vector<int32_t> target(obs_dim_);
    for (int64_t o = 0; o < num_obs_; ++o) {
      bool inside = true;
      for (int d = 0; d < obs_dim_; ++d) {
        target[d] = obs_of_[o * obs_dim_ + d] + now[d];
        inside = inside && target[d] >= 0 && target[d] < high_[d];
      }
      // Leaving the space's range: the observation stays as it was.
      m.predicted[o * num_actions_ + a] =
          static_cast<int32_t>(inside ? indexer_.Index(target) : o);
    }
    m.dirty = true;
  }

  static const DeltaCount* MostFrequent(const std::vector<DeltaCount>& seen) {
    const DeltaCount* best = nullptr;
    for (const DeltaCount& c : seen) {
      if (best == nullptr || c.count > best->count) best = &c;
    }
    return best;
  }

  // The planned value of taking a in state s: what was seen if the pair was
  // tried, else what the action's usual effect predicts; entering an
  // unvisited state is worth the novelty value or what the plan finds
  // beyond it, whichever is more (so a shortcut through an unvisited cell
  // to a found reward is taken, and novelty never adds up along a path).
  float Q(const StreamModel& m, int64_t s, int a) const {
    const size_t p = static_cast<size_t>(s) * num_actions_ + a;
    int64_t s2 = m.next[p];
    float r = m.reward[p];
    if (s2 == kEnded) return r;
    if (s2 == kNone) {
      const int32_t o2 = m.predicted[(s / memory_) * num_actions_ + a];
      if (o2 == kNone) return novelty_;  // a has never been tried
      const int level = static_cast<int>(s % memory_);
      r = m.reward_into[static_cast<int64_t>(o2) * memory_ + level];
      s2 = static_cast<int64_t>(o2) * memory_ + Level(level + (r > 0 ? 1 : 0));
    }
    // Novelty is worth at most once: it is not added to what lies beyond.
    if (m.visited[s2] == 0) {
      return r + std::max(novelty_, discount_ * m.value[s2]);
    }
    return r + discount_ * m.value[s2];
  }

  // Gauss-Seidel value iteration from the previous values.
  void Plan(StreamModel& m) const {
    for (int sweep = 0; sweep < options_.max_sweeps; ++sweep) {
      float moved = 0.0f;
      for (int64_t s = 0; s < num_states_; ++s) {
        float best = Q(m, s, 0);
        for (int a = 1; a < num_actions_; ++a)
          best = std::max(best, Q(m, s, a));
        moved = std::max(moved, std::abs(best - m.value[s]));
        m.value[s] = best;
      }
      if (moved < kConverged) break;
    }
    m.dirty = false;
  }

  // Values this close to the best count as ties (value iteration stops
  // short of exact equality), broken uniformly at random.
  static int ArgmaxWithinTolerance(absl::Span<const float> q,
                                   std::mt19937_64& rng) {
    const float best = *std::max_element(q.begin(), q.end());
    const float tolerance = 1e-4f * std::max(1.0f, std::abs(best));
    int ties = 0;
    int chosen = 0;
    for (int a = 0; a < static_cast<int>(q.size()); ++a) {
      if (q[a] < best - tolerance) continue;
      // Reservoir sampling: the k-th tie replaces the choice with prob 1/k.
      if (std::uniform_int_distribution<int>(0, ties)(rng) == 0) chosen = a;
      ++ties;
    }
    return chosen;
  }

  const RmaxOptions options_;
  const StateIndexer indexer_;
  const std::vector<int32_t> high_;  // obs component ranges
  const int num_actions_;
  const int obs_dim_;
  const int memory_;  // reward-count levels in the state, >= 1
  const int64_t num_obs_;
  const int64_t num_states_;  // observations x memory levels
  const float discount_;
  const float novelty_;
  std::vector<int32_t> obs_of_;        // [observation * obs_dim + d]
  std::vector<StreamModel> models_;    // per stream
  std::vector<std::mt19937_64> rngs_;  // per stream
  std::vector<float> q_row_;           // scratch for Act
};

absl::Status CheckRange(const char* key, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      kName, ".", key, " is ", v, "; must be in [", lo, ", ", hi, "]"));
}

}  // namespace

absl::StatusOr<RmaxOptions> RmaxOptions::FromParams(const SourceParams& p) {
  RmaxOptions o;
  AD_ASSIGN_OR_RETURN(o.discount, p.Double(kName, "discount", o.discount));
  AD_ASSIGN_OR_RETURN(o.novelty_value,
                      p.Double(kName, "novelty_value", o.novelty_value));
  AD_ASSIGN_OR_RETURN(const int64_t memory,
                      p.Int(kName, "reward_memory", o.reward_memory));
  AD_ASSIGN_OR_RETURN(const int64_t sweeps,
                      p.Int(kName, "max_sweeps", o.max_sweeps));
  // Checked before narrowing to int, so a huge value is named as given.
  AD_RETURN_IF_ERROR(CheckRange("reward_memory", memory, 0, kMaxRewardMemory));
  AD_RETURN_IF_ERROR(CheckRange("max_sweeps", sweeps, 1, kMaxSweeps));
  o.reward_memory = static_cast<int>(memory);
  o.max_sweeps = static_cast<int>(sweeps);
  AD_RETURN_IF_ERROR(o.Validate());
  return o;
}

absl::Status RmaxOptions::Validate() const {
  if (!(discount >= 0 && discount < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rmax.discount is ", discount, "; must be in [0, 1)"));
  }
  if (!std::isfinite(novelty_value) || novelty_value < 0 ||
      novelty_value > 1e6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rmax.novelty_value is ", novelty_value, "; must be in [0, 1e6]"));
  }
  AD_RETURN_IF_ERROR(
      CheckRange("reward_memory", reward_memory, 0, kMaxRewardMemory));
  return CheckRange("max_sweeps", max_sweeps, 1, kMaxSweeps);
}

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeRmaxAgent(
    const TaskSpec& spec, const SourceParams& params) {
  AD_ASSIGN_OR_RETURN(RmaxOptions options, RmaxOptions::FromParams(params));
  const int64_t memory = std::max(1, options.reward_memory);
  const int64_t actions = std::max(1, spec.space.num_actions);
  AD_ASSIGN_OR_RETURN(
      StateIndexer indexer,
      StateIndexer::Create(spec.space,
                           /*max_states=*/kMaxPairs / (memory * actions)));
  return std::make_unique<RmaxAgent>(spec, options, std::move(indexer));
}

}  // namespace ad::actors
