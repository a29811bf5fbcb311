#include "evaluator/rollout.h"

#include <string>
#include <vector>

#include "envs/registry.h"
#include "evaluator/policies/baselines.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::evaluator {
namespace {

using ::testing::HasSubstr;

const envs::EnvFamily& Family(const std::string& name) {
  auto family = envs::FindFamily(name);
  CHECK(family.ok()) << family.status();
  return **family;
}

std::vector<RowSpec> SomeRows(const envs::EnvFamily& family, int tasks,
                              int seeds) {
  std::vector<std::string> all = family.AllTasks();
  std::vector<RowSpec> rows;
  for (int t = 0; t < tasks; ++t) {
    for (int s = 0; s < seeds; ++s) {
      rows.push_back(RowSpec{all[(t * 7) % all.size()], uint64_t(s)});
    }
  }
  return rows;
}

// A policy that records what it was shown, to check the context contents.
class RecordingPolicy : public InContextPolicy {
 public:
  std::string name() const override { return "recording"; }
  absl::Status Begin(const envs::SpaceSpec&,
                     absl::Span<const RowSpec>) override {
    return absl::OkStatus();
  }
  absl::Status Act(const ContextBatch& context, const envs::BatchedEnv&,
                   absl::Span<int32_t> actions) override {
    lengths.push_back(context.length());
    if (context.length() > 0) {
      first_actions.push_back(context.action(0, 0));
    }
    for (int r = 0; r < context.rows(); ++r) actions[r] = step % 5;
    ++step;
    return absl::OkStatus();
  }
  int step = 0;
  std::vector<int> lengths;
  std::vector<int> first_actions;
};

TEST(RolloutTest, BatchedCallsEqualPerRowCalls) {
  for (const std::string name : {"darkroom", "key_to_door", "bandit"}) {
    const envs::EnvFamily& family = Family(name);
    const std::vector<RowSpec> rows = SomeRows(family, 6, 3);
    for (const std::string method : {"random", "heuristic"}) {
      auto batched_policy = MakeBaseline(method);
      auto single_policy = MakeBaseline(method);
      RolloutOptions options;
      options.episodes = 8;
      options.context_len = 30;
      options.env_seed = 11;
      auto batched = RunRollout(family, rows, **batched_policy, options);
      options.rows_per_call = 1;
      auto single = RunRollout(family, rows, **single_policy, options);
      ASSERT_TRUE(batched.ok()) << batched.status();
      ASSERT_TRUE(single.ok()) << single.status();
      EXPECT_EQ(batched->returns, single->returns) << name << " " << method;
      EXPECT_EQ(single->policy_calls, batched->policy_calls * 18);
    }
  }
}

TEST(RolloutTest, RowsAloneEqualRowsInABatchOnDarkRoom) {
  // Dark Room has no randomness in the env, so a row's returns depend only
  // on its task and seed, never on its neighbours or position.
  const envs::EnvFamily& family = Family("darkroom");
  const std::vector<RowSpec> rows = SomeRows(family, 5, 2);
  RolloutOptions options;
  options.episodes = 6;
  options.context_len = 40;
  HeuristicPolicy batched_policy;
  auto batched = RunRollout(family, rows, batched_policy, options);
  ASSERT_TRUE(batched.ok()) << batched.status();
  for (size_t r = 0; r < rows.size(); ++r) {
    HeuristicPolicy alone_policy;
    auto alone = RunRollout(family, {rows[r]}, alone_policy, options);
    ASSERT_TRUE(alone.ok()) << alone.status();
    for (int e = 0; e < options.episodes; ++e) {
      EXPECT_EQ(alone->Return(0, e), batched->Return(r, e));
    }
  }
}

TEST(RolloutTest, ContextFillsThenSlidesAcrossEpisodes) {
  const envs::EnvFamily& family = Family("darkroom");
  RecordingPolicy policy;
  RolloutOptions options;
  options.episodes = 3;  // 60 steps
  options.context_len = 25;
  auto result = RunRollout(family, SomeRows(family, 1, 1), policy, options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(policy.lengths.size(), 60u);
  EXPECT_EQ(policy.lengths[0], 0);
  EXPECT_EQ(policy.lengths[24], 24);
  EXPECT_EQ(policy.lengths[25], 25);
  EXPECT_EQ(policy.lengths[59], 25);
  // At step 40 the oldest transition held is step 15's, whose action was
  // 15 % 5: the window crosses the episode boundary at step 20.
  EXPECT_EQ(policy.first_actions[40 - 1], 15 % 5);
  EXPECT_EQ(result->env_steps, 60);
  EXPECT_EQ(result->end_steps[2], 60);
}

TEST(RolloutTest, PromptIsInContextBeforeTheFirstStep) {
  const envs::EnvFamily& family = Family("darkroom");
  RecordingPolicy policy;
  RolloutOptions options;
  options.episodes = 1;
  options.context_len = 10;
  Prompt prompt;
  prompt.length = 12;
  for (int t = 0; t < 12; ++t) {
    prompt.obs.insert(prompt.obs.end(), {4, 4});
    prompt.actions.push_back(t % 5);
    prompt.rewards.push_back(0);
    prompt.dones.push_back(0);
  }
  auto result =
      RunRollout(family, SomeRows(family, 1, 1), policy, options, &prompt);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(policy.lengths[0], 10);
  EXPECT_EQ(policy.first_actions[0], 2 % 5);  // prompt steps 2..11 kept
}

TEST(RolloutTest, RejectsBadOptionsNamingTheField) {
  const envs::EnvFamily& family = Family("darkroom");
  RandomPolicy policy;
  RolloutOptions options;
  options.episodes = 0;
  auto result = RunRollout(family, SomeRows(family, 1, 1), policy, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("episodes"));
  options = RolloutOptions();
  options.context_len = 0;
  result = RunRollout(family, SomeRows(family, 1, 1), policy, options);
  EXPECT_THAT(result.status().message(), HasSubstr("context_len"));
  options = RolloutOptions();
  result =
      RunRollout(family, {RowSpec{"darkroom/goal=9,9", 0}}, policy, options);
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("goal"));
  Prompt prompt;
  prompt.length = 2;
  result = RunRollout(family, SomeRows(family, 1, 1), policy, options, &prompt);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("prompt.obs"));
}

TEST(RolloutTest, CancelHookStopsTheRollout) {
  const envs::EnvFamily& family = Family("darkroom");
  RandomPolicy policy;
  int polls = 0;
  RolloutHooks hooks;
  hooks.cancelled = [&] { return ++polls > 5; };
  auto result = RunRollout(family, SomeRows(family, 2, 2), policy,
                           RolloutOptions(), nullptr, hooks);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ad::evaluator
