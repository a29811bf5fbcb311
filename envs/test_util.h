// Helpers shared by the env tests: an env and its twin (same family, tasks
// and seed) stepped in lockstep, asserting after every step that they are
// still identical, the check that a rejected call changed nothing. They
// use gtest assertions: call them under ASSERT_NO_FATAL_FAILURE.
#ifndef AD_ENVS_TEST_UTIL_H_
#define AD_ENVS_TEST_UTIL_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "envs/env.h"
#include "envs/step_buffers.h"
#include "gtest/gtest.h"

namespace ad::envs::testing {

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

}  // namespace ad::envs::testing

#endif  // AD_ENVS_TEST_UTIL_H_
