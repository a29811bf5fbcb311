// Helpers shared by the env tests: the malformed calls every BatchedEnv
// must reject, and an env and its twin (same family, tasks and seed)
// stepped in lockstep, asserting after every step that they are still
// identical (the check that a rejected call changed nothing). They use
// gtest assertions: call them under ASSERT_NO_FATAL_FAILURE.
#ifndef AD_ENVS_TEST_UTIL_H_
#define AD_ENVS_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "envs/env.h"
#include "envs/step_buffers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs::testing {

// family.Make(task_ids, num_envs, seed); on error a gtest failure naming
// it, and nullptr.
inline std::unique_ptr<BatchedEnv> MakeEnv(
    const EnvFamily& family, const std::vector<std::string>& task_ids,
    int num_envs, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<BatchedEnv>> env =
      family.Make(task_ids, num_envs, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *std::move(env) : nullptr;
}

// Expects INVALID_ARGUMENT, naming what is wrong, from `env` (at least two
// instances, `num_actions` actions) for: an action past the range and a
// negative one, one action too few, a short out.rewards, an out.obs one
// too short and one too long; and from Reset and ExpertActions given
// buffers of the wrong size. `valid` is a valid action per instance.
inline void ExpectBadCallsRejected(BatchedEnv& env, StepBuffers& out,
                                   const std::vector<int32_t>& valid,
                                   int num_actions) {
  using ::testing::AllOf;
  using ::testing::HasSubstr;
  const int n = env.num_envs();
  std::vector<int32_t> actions = valid;
  actions[1] = num_actions;
  absl::Status s = env.Step(actions, out.output());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("actions[1]"), HasSubstr("instance 1"),
                    HasSubstr(absl::StrCat("[0, ", num_actions, ")"))));
  actions = valid;
  actions[n - 1] = -1;
  s = env.Step(actions, out.output());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      s.message(),
      AllOf(HasSubstr(absl::StrCat("actions[", n - 1, "]")), HasSubstr("-1")));
  s = env.Step(absl::MakeConstSpan(valid).subspan(0, n - 1), out.output());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("actions"));
  std::vector<float> short_rewards(n - 1);
  s = env.Step(
      valid, StepOutput{absl::MakeSpan(out.obs), absl::MakeSpan(short_rewards),
                        absl::MakeSpan(out.dones)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("out.rewards"), HasSubstr(absl::StrCat(n))));
  for (const size_t wrong : {out.obs.size() - 1, out.obs.size() + 1}) {
    std::vector<int32_t> obs(wrong);
    s = env.Step(valid,
                 StepOutput{absl::MakeSpan(obs), absl::MakeSpan(out.rewards),
                            absl::MakeSpan(out.dones)});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << wrong;
    EXPECT_THAT(s.message(), HasSubstr("out.obs")) << wrong;
    s = env.Reset(absl::MakeSpan(obs));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << wrong;
  }
  std::vector<int32_t> too_few(n - 1);
  s = env.ExpertActions(absl::MakeSpan(too_few));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

// Steps `env` into `out` and `twin` into `twin_out` with `actions`, and
// asserts that the two outputs (obs, rewards, dones) are equal; `t` names
// the step in failures.
inline void StepTwins(BatchedEnv& env, BatchedEnv& twin,
                      absl::Span<const int32_t> actions, StepBuffers& out,
                      StepBuffers& twin_out, int t) {
  ASSERT_TRUE(env.Step(actions, out.output()).ok()) << "t=" << t;
  ASSERT_TRUE(twin.Step(actions, twin_out.output()).ok()) << "t=" << t;
  ASSERT_EQ(out.obs, twin_out.obs) << "t=" << t;
  ASSERT_EQ(out.rewards, twin_out.rewards) << "t=" << t;
  ASSERT_EQ(out.dones, twin_out.dones) << "t=" << t;
}

// `steps` StepTwins on the expert's actions: at each step env and twin must
// choose the same expert actions; when `vary_actions` > 0, instance
// t % num_envs then takes action t % vary_actions instead, so that the
// twins also leave the expert's path.
inline void StepTwinsOnExpert(BatchedEnv& env, BatchedEnv& twin,
                              StepBuffers& out, StepBuffers& twin_out,
                              int steps, int vary_actions) {
  std::vector<int32_t> a(env.num_envs()), b(twin.num_envs());
  for (int t = 0; t < steps; ++t) {
    ASSERT_TRUE(env.ExpertActions(absl::MakeSpan(a)).ok()) << "t=" << t;
    ASSERT_TRUE(twin.ExpertActions(absl::MakeSpan(b)).ok()) << "t=" << t;
    ASSERT_EQ(a, b) << "t=" << t;
    if (vary_actions > 0) a[t % a.size()] = t % vary_actions;
    StepTwins(env, twin, a, out, twin_out, t);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The whole check that bad calls are rejected and change nothing: `env`
// and its fresh `twin` both step with `warmup`, `env` gets the calls of
// ExpectBadCallsRejected, then the two stay identical over `steps`
// StepTwinsOnExpert steps that vary the expert's actions.
inline void ExpectBadCallsChangeNothing(BatchedEnv& env, BatchedEnv& twin,
                                        const std::vector<int32_t>& warmup,
                                        int num_actions, int steps) {
  StepBuffers out(env), twin_out(twin);
  ASSERT_TRUE(env.Step(warmup, out.output()).ok());
  ASSERT_TRUE(twin.Step(warmup, twin_out.output()).ok());
  ExpectBadCallsRejected(env, out, warmup, num_actions);
  StepTwinsOnExpert(env, twin, out, twin_out, steps, num_actions);
}

}  // namespace ad::envs::testing

#endif  // AD_ENVS_TEST_UTIL_H_
