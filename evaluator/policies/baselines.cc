#include "evaluator/policies/baselines.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "envs/grid.h"
#include "glog/logging.h"

namespace ad::evaluator {
namespace {

constexpr uint64_t kRandomSalt = 0x52414e44;     // "RAND"
constexpr uint64_t kHeuristicSalt = 0x48455552;  // "HEUR"
constexpr uint64_t kNoisySalt = 0x4e4f4953;      // "NOIS"

std::vector<SplitMix64> MakeStreams(absl::Span<const RowSpec> rows,
                                    uint64_t salt) {
  std::vector<SplitMix64> streams;
  streams.reserve(rows.size());
  for (const RowSpec& row : rows) {
    streams.emplace_back(RowStreamSeed(row, salt));
  }
  return streams;
}

absl::Status CheckActionsSize(const ContextBatch& context,
                              absl::Span<int32_t> actions) {
  if (static_cast<int>(actions.size()) == context.rows()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("actions has %d entries for %d context rows",
                      actions.size(), context.rows()));
}

absl::Status CheckBegun(const ContextBatch& context, size_t rows,
                        const char* policy) {
  if (context.global_row(context.rows()) <= static_cast<int>(rows)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrFormat("%s policy: Act on row %d but Begin had %d rows", policy,
                      context.global_row(context.rows()) - 1, rows));
}

// CheckActionsSize, then CheckBegun: what every Act of a policy with one
// stream per row checks first.
absl::Status CheckActInputs(const ContextBatch& context,
                            absl::Span<int32_t> actions, size_t rows,
                            const char* policy) {
  AD_RETURN_IF_ERROR(CheckActionsSize(context, actions));
  return CheckBegun(context, rows, policy);
}

// The oracle's expert action for every row Begin had, into `expert` (sized
// by Begin); FAILED_PRECONDITION naming `policy` when the oracle has another
// number of envs.
absl::Status ExpertActionsForAllRows(const envs::BatchedEnv& oracle,
                                     std::vector<int32_t>& expert,
                                     const char* policy) {
  if (static_cast<int>(expert.size()) != oracle.num_envs()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s policy: oracle has %d envs but Begin had %d rows",
                        policy, oracle.num_envs(), expert.size()));
  }
  return oracle.ExpertActions(absl::MakeSpan(expert));
}

bool IsGridFamily(const std::string& family) {
  return family == "darkroom" || family == "darkroom_hard" ||
         family == "key_to_door";
}

}  // namespace

absl::Status RandomPolicy::Begin(const envs::SpaceSpec& space,
                                 absl::Span<const RowSpec> rows) {
  if (space.num_actions < 1) {
    return absl::InvalidArgumentError("random policy: space has no actions");
  }
  num_actions_ = space.num_actions;
  streams_ = MakeStreams(rows, kRandomSalt);
  return absl::OkStatus();
}

absl::Status RandomPolicy::Act(const ContextBatch& context,
                               const envs::BatchedEnv& oracle,
                               absl::Span<int32_t> actions) {
  AD_RETURN_IF_ERROR(
      CheckActInputs(context, actions, streams_.size(), "random"));
  for (int r = 0; r < context.rows(); ++r) {
    actions[r] = static_cast<int32_t>(
        streams_[context.global_row(r)].NextBelow(num_actions_));
  }
  return absl::OkStatus();
}

absl::Status OptimalPolicy::Begin(const envs::SpaceSpec& space,
                                  absl::Span<const RowSpec> rows) {
  expert_.assign(rows.size(), 0);
  return absl::OkStatus();
}

absl::Status OptimalPolicy::Act(const ContextBatch& context,
                                const envs::BatchedEnv& oracle,
                                absl::Span<int32_t> actions) {
  AD_RETURN_IF_ERROR(CheckActionsSize(context, actions));
  AD_RETURN_IF_ERROR(ExpertActionsForAllRows(oracle, expert_, "optimal"));
  std::copy_n(expert_.begin() + context.global_row(0), context.rows(),
              actions.begin());
  return absl::OkStatus();
}

NoisyExpertPolicy::NoisyExpertPolicy(double epsilon) : epsilon_(epsilon) {
  CHECK(epsilon >= 0.0 && epsilon <= 1.0) << "epsilon " << epsilon;
}

std::string NoisyExpertPolicy::name() const {
  return absl::StrFormat("noisy_expert(eps=%.2f)", epsilon_);
}

absl::Status NoisyExpertPolicy::Begin(const envs::SpaceSpec& space,
                                      absl::Span<const RowSpec> rows) {
  num_actions_ = space.num_actions;
  expert_.assign(rows.size(), 0);
  streams_ = MakeStreams(rows, kNoisySalt);
  return absl::OkStatus();
}

absl::Status NoisyExpertPolicy::Act(const ContextBatch& context,
                                    const envs::BatchedEnv& oracle,
                                    absl::Span<int32_t> actions) {
  AD_RETURN_IF_ERROR(CheckActionsSize(context, actions));
  AD_RETURN_IF_ERROR(ExpertActionsForAllRows(oracle, expert_, "noisy expert"));
  for (int r = 0; r < context.rows(); ++r) {
    SplitMix64& stream = streams_[context.global_row(r)];
    const bool explore = stream.NextUnit() < epsilon_;
    const int32_t random = static_cast<int32_t>(stream.NextBelow(num_actions_));
    actions[r] = explore ? random : expert_[context.global_row(r)];
  }
  return absl::OkStatus();
}

absl::Status HeuristicPolicy::Begin(const envs::SpaceSpec& space,
                                    absl::Span<const RowSpec> rows) {
  grid_ = IsGridFamily(space.family);
  if (grid_) {
    if (space.obs_dim != 2 || space.obs_high.size() != 2 ||
        space.num_actions != envs::kNumGridActions) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "heuristic policy: family %s is not an (x, y) grid with %d actions",
          space.family, envs::kNumGridActions));
    }
    grid_size_ = space.obs_high[0];
  } else if (space.family != "bandit") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "heuristic policy: no rule for family '%s' (knows darkroom, "
        "darkroom_hard, key_to_door, bandit)",
        space.family));
  }
  num_actions_ = space.num_actions;
  streams_ = MakeStreams(rows, kHeuristicSalt);
  return absl::OkStatus();
}

absl::Status HeuristicPolicy::Act(const ContextBatch& context,
                                  const envs::BatchedEnv& oracle,
                                  absl::Span<int32_t> actions) {
  AD_RETURN_IF_ERROR(
      CheckActInputs(context, actions, streams_.size(), "heuristic"));
  for (int r = 0; r < context.rows(); ++r) {
    SplitMix64& stream = streams_[context.global_row(r)];
    // The most recent rewarded transition in context, if any.
    int rewarded = -1;
    for (int k = context.length() - 1; k >= 0; --k) {
      if (context.reward(r, k) > 0.0f) {
        rewarded = k;
        break;
      }
    }
    if (!grid_) {
      actions[r] = rewarded >= 0
                       ? context.action(r, rewarded)
                       : static_cast<int32_t>(stream.NextBelow(num_actions_));
      continue;
    }
    if (rewarded < 0) {
      // Explore: a random move (never the no-op, which cannot find a goal).
      actions[r] = envs::kUp + static_cast<int32_t>(stream.NextBelow(4));
      continue;
    }
    absl::Span<const int32_t> seen = context.obs(r, rewarded);
    const envs::GridPos target =
        envs::ApplyGridAction(envs::GridPos{seen[0], seen[1]},
                              context.action(r, rewarded), grid_size_);
    absl::Span<const int32_t> now = context.current_obs(r);
    actions[r] =
        envs::GreedyActionToward(envs::GridPos{now[0], now[1]}, target);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<InContextPolicy>> MakeBaseline(
    std::string_view name) {
  if (name == "random") return std::make_unique<RandomPolicy>();
  if (name == "optimal") return std::make_unique<OptimalPolicy>();
  if (name == "heuristic") return std::make_unique<HeuristicPolicy>();
  return absl::NotFoundError(absl::StrFormat(
      "no baseline policy '%s' (known: random, optimal, heuristic)", name));
}

}  // namespace ad::evaluator
