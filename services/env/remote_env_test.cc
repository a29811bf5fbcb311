#include "services/env/remote_env.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "envs/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/server.h"
#include "services/common/test_server.h"
#include "services/env/env_service.h"

namespace ad::services {
namespace {

using ::testing::HasSubstr;

// An EnvService on a free loopback port, in this process.
class RemoteEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ =
        std::make_unique<EnvServiceImpl>(EnvServiceImpl::Options(), *registry_);
    auto server = StartTestServer("env-test", service_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
  }

  std::shared_ptr<prometheus::Registry> registry_ =
      std::make_shared<prometheus::Registry>();
  std::unique_ptr<EnvServiceImpl> service_;
  std::unique_ptr<Server> server_;
};

// Everything an env emitted, for comparing two envs.
struct Trajectory {
  std::vector<int32_t> obs;
  std::vector<float> rewards;
  std::vector<uint8_t> dones;
  std::vector<int32_t> expert;
};

// Reset, then `steps` batched steps with seeded random actions, a mid-run
// Reset after half of them, and the expert's actions every 7 steps.
Trajectory Record(envs::BatchedEnv& env, int steps, uint64_t action_seed) {
  const int n = env.num_envs();
  const int obs_dim = env.space().obs_dim;
  std::mt19937 rng(static_cast<uint32_t>(action_seed));
  std::uniform_int_distribution<int32_t> pick(0, env.space().num_actions - 1);
  Trajectory t;
  std::vector<int32_t> obs(n * obs_dim), actions(n);
  std::vector<float> rewards(n);
  std::vector<uint8_t> dones(n);
  EXPECT_TRUE(env.Reset(absl::MakeSpan(obs)).ok());
  t.obs.insert(t.obs.end(), obs.begin(), obs.end());
  for (int s = 0; s < steps; ++s) {
    if (s == steps / 2) {
      EXPECT_TRUE(env.Reset(absl::MakeSpan(obs)).ok());
      t.obs.insert(t.obs.end(), obs.begin(), obs.end());
    }
    if (s % 7 == 0) {
      EXPECT_TRUE(env.ExpertActions(absl::MakeSpan(actions)).ok());
      t.expert.insert(t.expert.end(), actions.begin(), actions.end());
    }
    for (int32_t& a : actions) a = pick(rng);
    const absl::Status status = env.Step(
        actions,
        {absl::MakeSpan(obs), absl::MakeSpan(rewards), absl::MakeSpan(dones)});
    EXPECT_TRUE(status.ok()) << status;
    t.obs.insert(t.obs.end(), obs.begin(), obs.end());
    t.rewards.insert(t.rewards.end(), rewards.begin(), rewards.end());
    t.dones.insert(t.dones.end(), dones.begin(), dones.end());
  }
  return t;
}

TEST_F(RemoteEnvTest, SameSeedGivesTheSameTrajectoryLocalAndRemote) {
  for (const std::string family : {"darkroom", "key_to_door", "bandit"}) {
    SCOPED_TRACE(family);
    auto found = envs::FindFamily(family);
    ASSERT_TRUE(found.ok()) << found.status();
    const std::vector<std::string> all = (*found)->AllTasks();
    // Eight instances, each its own task.
    std::vector<std::string> tasks;
    for (int i = 0; i < 8; ++i) tasks.push_back(all[(i * 37) % all.size()]);

    auto local = MakeEnv("local", family, tasks, 8, /*seed=*/42);
    ASSERT_TRUE(local.ok()) << local.status();
    auto remote = MakeEnv(server_->address(), family, tasks, 8, /*seed=*/42);
    ASSERT_TRUE(remote.ok()) << remote.status();
    EXPECT_EQ((*remote)->space().num_actions, (*local)->space().num_actions);
    EXPECT_EQ((*remote)->space().obs_dim, (*local)->space().obs_dim);
    EXPECT_EQ((*remote)->task_id(3), tasks[3]);

    const int steps = 3 * (*local)->space().episode_len + 5;
    const Trajectory a = Record(**local, steps, /*action_seed=*/7);
    const Trajectory b = Record(**remote, steps, /*action_seed=*/7);
    EXPECT_EQ(a.obs, b.obs);
    EXPECT_EQ(a.rewards, b.rewards);
    EXPECT_EQ(a.dones, b.dones);
    EXPECT_EQ(a.expert, b.expert);
  }
}

// Pixel frames travel as StepBatch.obs_u8 and arrive as the very frames
// the local env renders, across an episode boundary and a mid-run reset.
TEST_F(RemoteEnvTest, WatermazeFramesCrossTheWireAsBytesUnchanged) {
  const std::vector<std::string> tasks = {"watermaze/platform=20,15",
                                          "watermaze/platform=8,22"};
  auto local = MakeEnv("local", "watermaze", tasks, 2, /*seed=*/3);
  ASSERT_TRUE(local.ok()) << local.status();
  auto remote = MakeEnv(server_->address(), "watermaze", tasks, 2, /*seed=*/3);
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_TRUE((*remote)->space().obs_bytes);
  EXPECT_EQ((*remote)->space().obs_dim, (*local)->space().obs_dim);
  const int steps = (*local)->space().episode_len + 6;
  const Trajectory a = Record(**local, steps, /*action_seed=*/11);
  const Trajectory b = Record(**remote, steps, /*action_seed=*/11);
  ASSERT_EQ(a.obs.size(), b.obs.size());
  EXPECT_TRUE(a.obs == b.obs);  // 2 x 57 frames; no element-wise dump
  EXPECT_EQ(a.rewards, b.rewards);
  EXPECT_EQ(a.dones, b.dones);
  EXPECT_EQ(a.expert, b.expert);
}

TEST_F(RemoteEnvTest, RejectedStepLeavesTheSessionWorking) {
  auto env = MakeEnv(server_->address(), "darkroom", {"darkroom/goal=0,0"}, 2,
                     /*seed=*/1);
  ASSERT_TRUE(env.ok()) << env.status();
  std::vector<int32_t> obs(4);
  std::vector<float> rewards(2);
  std::vector<uint8_t> dones(2);
  const envs::StepOutput out = {absl::MakeSpan(obs), absl::MakeSpan(rewards),
                                absl::MakeSpan(dones)};
  ASSERT_TRUE((*env)->Reset(absl::MakeSpan(obs)).ok());
  const std::vector<int32_t> bad = {1, 9};
  const absl::Status status = (*env)->Step(bad, out);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("step.actions[1] = 9"));
  const std::vector<int32_t> left = {3, 3};  // 3 = left: (4,4) -> (3,4)
  ASSERT_TRUE((*env)->Step(left, out).ok());
  EXPECT_EQ(obs, (std::vector<int32_t>{3, 4, 3, 4}));
}

TEST_F(RemoteEnvTest, OpenErrorsComeFromTheServer) {
  auto unknown =
      MakeEnv(server_->address(), "no_such_family", {"no_such_family/x"}, 1, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status())) << unknown.status();
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("open.family"));
  auto bad_task =
      MakeEnv(server_->address(), "darkroom", {"darkroom/goal=99,0"}, 1, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(bad_task.status())) << bad_task.status();
  EXPECT_THAT(std::string(bad_task.status().message()),
              HasSubstr("open.task_ids[0]"));
}

TEST(MakeEnvTest, UnreachableServerFailsWithinTheOpenTimeout) {
  RemoteEnvOptions options;
  options.open_timeout = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  auto env =
      MakeEnv("127.0.0.1:1", "darkroom", {"darkroom/goal=0,0"}, 1, 1, options);
  EXPECT_FALSE(env.ok());
  EXPECT_TRUE(absl::IsUnavailable(env.status()) ||
              absl::IsDeadlineExceeded(env.status()))
      << env.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(MakeEnvTest, EmptyLocationIsInvalid) {
  auto env = MakeEnv("", "darkroom", {"darkroom/goal=0,0"}, 1, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(env.status()));
}

}  // namespace
}  // namespace ad::services
