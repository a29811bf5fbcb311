#include "envs/key_to_door.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/rng.h"
#include "envs/env.h"
#include "envs/grid.h"
#include "envs/step_buffers.h"
#include "envs/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::unique_ptr<BatchedEnv> MakeEnv(const std::vector<std::string>& task_ids,
                                    int num_envs, uint64_t seed) {
  return testing::MakeEnv(KeyToDoorFamily(), task_ids, num_envs, seed);
}

// Drives a one-instance env and records what happened.
class Walker {
 public:
  explicit Walker(BatchedEnv& env) : env_(env), out_(env) {
    std::array<int32_t, 2> obs;
    EXPECT_TRUE(env_.Reset(absl::MakeSpan(obs)).ok());
    pos_ = {obs[0], obs[1]};
  }

  float Step(int32_t action) {
    const std::array<int32_t, 1> actions = {action};
    EXPECT_TRUE(env_.Step(actions, out_.output()).ok());
    pos_ = {out_.obs[0], out_.obs[1]};
    ++steps_;
    EXPECT_EQ(out_.dones[0], steps_ % 50 == 0 ? 1 : 0) << "step " << steps_;
    return out_.rewards[0];
  }

  // Walks to `target`, always taking at least one step (a no-op when already
  // there). Returns the rewards on the way and of the arriving step.
  std::pair<float, float> WalkTo(GridPos target) {
    float on_the_way = 0;
    for (;;) {
      const float r = Step(GreedyActionToward(pos_, target));
      if (pos_ == target) return {on_the_way, r};
      on_the_way += r;
    }
  }

  GridPos pos() const { return pos_; }
  int steps() const { return steps_; }

 private:
  BatchedEnv& env_;
  StepBuffers out_;
  GridPos pos_;
  int steps_ = 0;
};

TEST(KeyToDoorTest, DoorWithoutKeyPaysNothingThenKeyAndDoorPayOnceEach) {
  // Key and door in opposite corners: no greedy path to one passes the other.
  const KeyToDoorTask task{/*key=*/{0, 8}, /*door=*/{8, 0}};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto env = MakeEnv({FormatKeyToDoorTask(task)}, 1, seed);
    Walker w(*env);
    if (w.pos() == task.key) w.Step(kRight);  // leave without the key
    // Arriving on the door without the key pays nothing.
    EXPECT_EQ(w.WalkTo(task.door), std::make_pair(0.0f, 0.0f));
    EXPECT_EQ(w.WalkTo(task.key), std::make_pair(0.0f, 1.0f));
    EXPECT_EQ(w.Step(kNoOp), 0.0f);  // the key pays once
    EXPECT_EQ(w.WalkTo(task.door), std::make_pair(0.0f, 1.0f));
    EXPECT_EQ(w.Step(kNoOp), 0.0f);  // the door pays once
    ASSERT_LE(w.steps(), 50);        // all in one episode
  }
}

TEST(KeyToDoorTest, KeyOnTheDoorCellPaysTheDoorOnALaterStep) {
  const KeyToDoorTask task{/*key=*/{3, 3}, /*door=*/{3, 3}};
  for (uint64_t seed = 0; seed < 10; ++seed) {
    auto env = MakeEnv({FormatKeyToDoorTask(task)}, 1, seed);
    Walker w(*env);
    EXPECT_EQ(w.WalkTo(task.key).second, 1.0f);
    EXPECT_EQ(w.Step(kNoOp), 1.0f);
    EXPECT_EQ(w.Step(kNoOp), 0.0f);
    EXPECT_EQ(w.Step(kLeft), 0.0f);
    EXPECT_EQ(w.Step(kRight), 0.0f);
  }
}

TEST(KeyToDoorTest, EpisodeLastsFiftyStepsAndResetsToRandomCells) {
  const int n = 64;
  auto env = MakeEnv({"key_to_door/key=0,0;door=8,8"}, n, /*seed=*/5);
  StepBuffers out(*env);
  std::vector<int32_t> obs(2 * n);
  ASSERT_TRUE(env->Reset(absl::MakeSpan(obs)).ok());
  std::set<std::pair<int, int>> starts;
  int moved_between_episodes = 0;
  std::vector<int32_t> previous = obs;
  const std::vector<int32_t> noops(n, kNoOp);
  for (int episode = 0; episode < 4; ++episode) {
    for (int i = 0; i < n; ++i) starts.insert({obs[2 * i], obs[2 * i + 1]});
    for (int t = 1; t <= 50; ++t) {
      ASSERT_TRUE(env->Step(noops, out.output()).ok());
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(out.dones[i], t == 50 ? 1 : 0) << "t=" << t;
        if (t < 50) {  // no-ops keep the agent where it started
          ASSERT_EQ(out.obs[2 * i], obs[2 * i]);
          ASSERT_EQ(out.obs[2 * i + 1], obs[2 * i + 1]);
        }
      }
    }
    for (int i = 0; i < n; ++i) {
      moved_between_episodes += out.obs[2 * i] != previous[2 * i] ||
                                out.obs[2 * i + 1] != previous[2 * i + 1];
    }
    previous = obs = out.obs;
  }
  for (const auto& [x, y] : starts) {
    EXPECT_TRUE(x >= 0 && x < 9 && y >= 0 && y < 9);
  }
  // 320 uniform draws over 81 cells cover far more than 40 of them.
  EXPECT_GT(starts.size(), 40u);
  EXPECT_GT(moved_between_episodes, 200);
}

// Plays `steps` random actions (the same stream for every env) and returns
// all observations and rewards.
std::pair<std::vector<int32_t>, std::vector<float>> Play(BatchedEnv& env,
                                                         int steps) {
  StepBuffers out(env);
  std::vector<int32_t> obs(2 * env.num_envs());
  EXPECT_TRUE(env.Reset(absl::MakeSpan(obs)).ok());
  std::vector<float> rewards;
  SplitMix64 rng(42);
  std::vector<int32_t> actions(env.num_envs());
  for (int t = 0; t < steps; ++t) {
    for (int32_t& a : actions) a = rng.NextBelow(kNumGridActions);
    EXPECT_TRUE(env.Step(actions, out.output()).ok());
    obs.insert(obs.end(), out.obs.begin(), out.obs.end());
    rewards.insert(rewards.end(), out.rewards.begin(), out.rewards.end());
  }
  return {obs, rewards};
}

TEST(KeyToDoorTest, SameSeedReplaysAndOtherSeedsDiffer) {
  const std::vector<std::string> task = {"key_to_door/key=2,3;door=6,1"};
  auto a = MakeEnv(task, 16, /*seed=*/7);
  auto b = MakeEnv(task, 16, /*seed=*/7);
  auto c = MakeEnv(task, 16, /*seed=*/8);
  const auto played_a = Play(*a, 200);
  EXPECT_EQ(played_a, Play(*b, 200));
  EXPECT_NE(played_a.first, Play(*c, 200).first);
  EXPECT_GT(std::count(played_a.second.begin(), played_a.second.end(), 1.0f),
            0);
}

TEST(KeyToDoorTest, ExpertCollectsExactlyTwoOnSampledTasks) {
  const KeyToDoorFamily family;
  const std::vector<std::string> all = family.AllTasks();
  std::vector<std::string> tasks;
  for (size_t i = 0; i < all.size(); i += 29) tasks.push_back(all[i]);
  tasks.push_back("key_to_door/key=4,4;door=4,4");
  tasks.push_back("key_to_door/key=0,0;door=8,8");
  tasks.push_back("key_to_door/key=8,8;door=0,0");
  const int n = static_cast<int>(tasks.size());
  auto env = MakeEnv(tasks, n, /*seed=*/11);
  StepBuffers out(*env);
  std::vector<int32_t> actions(n);
  for (int episode = 0; episode < 3; ++episode) {
    std::vector<double> returns(n, 0.0);
    for (int t = 0; t < 50; ++t) {
      ASSERT_TRUE(env->ExpertActions(absl::MakeSpan(actions)).ok());
      ASSERT_TRUE(env->Step(actions, out.output()).ok());
      for (int i = 0; i < n; ++i) returns[i] += out.rewards[i];
    }
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(returns[i], 2.0) << tasks[i];
      EXPECT_EQ(*family.OptimalReturn(tasks[i]), 2.0);
    }
  }
}

TEST(KeyToDoorTest, BadStepInputIsRejectedAndChangesNothing) {
  const std::vector<std::string> task = {"key_to_door/key=1,7;door=7,2"};
  auto env = MakeEnv(task, 4, /*seed=*/3);
  auto twin = MakeEnv(task, 4, /*seed=*/3);
  StepBuffers out(*env), twin_out(*twin);
  absl::Status s = env->Step(std::vector<int32_t>{0, 1, 2, 5}, out.output());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("actions[3] = 5"),
                                 HasSubstr("instance 3"), HasSubstr("[0, 5)")));
  s = env->Step(std::vector<int32_t>{0, 1, 2, 3, 4}, out.output());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> dones(3);
  s = env->Step(std::vector<int32_t>{0, 1, 2, 3},
                StepOutput{absl::MakeSpan(out.obs), absl::MakeSpan(out.rewards),
                           absl::MakeSpan(dones)});
  EXPECT_THAT(s.message(), HasSubstr("out.dones"));
  // Neither position, step count, progress nor generator moved.
  ASSERT_NO_FATAL_FAILURE(testing::StepTwinsOnExpert(
      *env, *twin, out, twin_out, /*steps=*/120, /*vary_actions=*/0));
}

TEST(KeyToDoorTest, TaskIdsRoundTripAndErrorsNameTheField) {
  const std::vector<std::string> tasks = KeyToDoorFamily().AllTasks();
  ASSERT_EQ(tasks.size(), 6561u);
  EXPECT_EQ(std::set<std::string>(tasks.begin(), tasks.end()).size(), 6561u);
  for (size_t i = 0; i < tasks.size(); i += 7) {
    const absl::StatusOr<KeyToDoorTask> task = ParseKeyToDoorTask(tasks[i]);
    ASSERT_TRUE(task.ok()) << task.status();
    EXPECT_EQ(FormatKeyToDoorTask(*task), tasks[i]);
  }
  EXPECT_EQ(FormatKeyToDoorTask({{1, 2}, {7, 0}}),
            "key_to_door/key=1,2;door=7,0");

  absl::StatusOr<KeyToDoorTask> t = ParseKeyToDoorTask("key_to_door/key=1,2");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr(";door="));
  t = ParseKeyToDoorTask("key_to_door/key=1,2;door=x,0");
  EXPECT_THAT(t.status().message(), HasSubstr("door x"));
  t = ParseKeyToDoorTask("key_to_door/key=1,2;door=3,9");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(),
              AllOf(HasSubstr("door y = 9"), HasSubstr("[0, 9)")));
  t = ParseKeyToDoorTask("key_to_door/key=12,2;door=3,3");
  EXPECT_THAT(t.status().message(), HasSubstr("key x = 12"));
  EXPECT_EQ(KeyToDoorFamily().ValidateTask("darkroom/goal=1,1").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ad::envs
