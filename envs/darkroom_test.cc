#include "envs/darkroom.h"

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
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

std::unique_ptr<BatchedEnv> MakeEnv(const DarkRoomParams& params,
                                    const std::vector<std::string>& task_ids,
                                    int num_envs, uint64_t seed = 1) {
  return testing::MakeEnv(DarkRoomFamily(params), task_ids, num_envs, seed);
}

// Steps a one-instance env and returns its reward.
float StepOne(BatchedEnv& env, StepBuffers& out, int32_t action) {
  const std::array<int32_t, 1> actions = {action};
  EXPECT_TRUE(env.Step(actions, out.output()).ok());
  return out.rewards[0];
}

GridPos Pos(const StepBuffers& out, int i = 0) {
  return GridPos{out.obs[2 * i], out.obs[2 * i + 1]};
}

TEST(DarkRoomTest, WallsClampMoves) {
  const DarkRoomParams params = DarkRoomDefaultParams();
  auto env = MakeEnv(params, {"darkroom/goal=0,0"}, 1);
  StepBuffers out(*env);
  // From the centre (4,4): four moves left reach x = 0, the fifth stays.
  for (int i = 0; i < 4; ++i) StepOne(*env, out, kLeft);
  EXPECT_EQ(Pos(out), (GridPos{0, 4}));
  StepOne(*env, out, kLeft);
  EXPECT_EQ(Pos(out), (GridPos{0, 4}));
  for (int i = 0; i < 6; ++i) StepOne(*env, out, kUp);
  EXPECT_EQ(Pos(out), (GridPos{0, 8}));
  for (int i = 0; i < 9; ++i) StepOne(*env, out, kRight);  // step 20: reset
  EXPECT_EQ(out.dones[0], 1);
  EXPECT_EQ(Pos(out), (GridPos{4, 4}));
  for (int i = 0; i < 6; ++i) StepOne(*env, out, kDown);
  EXPECT_EQ(Pos(out), (GridPos{4, 0}));
  for (int i = 0; i < 6; ++i) StepOne(*env, out, kRight);
  EXPECT_EQ(Pos(out), (GridPos{8, 0}));
}

TEST(DarkRoomTest, RewardsEveryStepThatEndsOnTheGoal) {
  auto env = MakeEnv(DarkRoomDefaultParams(), {"darkroom/goal=5,4"}, 1);
  StepBuffers out(*env);
  EXPECT_EQ(StepOne(*env, out, kNoOp), 0.0f);
  EXPECT_EQ(StepOne(*env, out, kRight), 1.0f);
  EXPECT_EQ(StepOne(*env, out, kNoOp), 1.0f);
  EXPECT_EQ(StepOne(*env, out, kNoOp), 1.0f);
  EXPECT_EQ(StepOne(*env, out, kUp), 0.0f);
  EXPECT_EQ(StepOne(*env, out, kDown), 1.0f);
}

TEST(DarkRoomTest, GoalAtCentreRewardsStaying) {
  auto env = MakeEnv(DarkRoomDefaultParams(), {"darkroom/goal=4,4"}, 1);
  StepBuffers out(*env);
  float total = 0;
  for (int t = 0; t < 20; ++t) total += StepOne(*env, out, kNoOp);
  EXPECT_EQ(total, 20.0f);
}

TEST(DarkRoomHardTest, RewardsOnlyTheFirstArrivalInAnEpisode) {
  auto env = MakeEnv(DarkRoomHardParams(), {"darkroom_hard/goal=9,8"}, 1);
  StepBuffers out(*env);
  EXPECT_EQ(StepOne(*env, out, kRight), 1.0f);  // step 1
  EXPECT_EQ(StepOne(*env, out, kNoOp), 0.0f);
  EXPECT_EQ(StepOne(*env, out, kLeft), 0.0f);
  EXPECT_EQ(StepOne(*env, out, kRight), 0.0f);  // step 4
  for (int t = 5; t <= 20; ++t) EXPECT_EQ(StepOne(*env, out, kNoOp), 0.0f);
  ASSERT_EQ(out.dones[0], 1);
  // A new episode pays again.
  EXPECT_EQ(StepOne(*env, out, kRight), 1.0f);
  EXPECT_EQ(StepOne(*env, out, kNoOp), 0.0f);
}

TEST(DarkRoomTest, EpisodeLastsTwentyStepsThenResetsToCentre) {
  for (const DarkRoomParams& params :
       {DarkRoomDefaultParams(), DarkRoomHardParams()}) {
    SCOPED_TRACE(params.family);
    auto env = MakeEnv(params, {FormatDarkRoomTask(params, {0, 0})}, 3);
    StepBuffers out(*env);
    const std::vector<int32_t> actions = {kRight, kUp, kDown};
    for (int episode = 0; episode < 3; ++episode) {
      for (int t = 1; t <= 20; ++t) {
        ASSERT_TRUE(env->Step(actions, out.output()).ok());
        for (int i = 0; i < 3; ++i) {
          EXPECT_EQ(out.dones[i], t == 20 ? 1 : 0) << "t=" << t;
        }
      }
      // The observation after the last step is the next episode's first.
      for (int i = 0; i < 3; ++i) EXPECT_EQ(Pos(out, i), params.centre());
    }
    // Reset mid-episode starts over at the centre too.
    ASSERT_TRUE(env->Step(actions, out.output()).ok());
    std::vector<int32_t> obs(6);
    ASSERT_TRUE(env->Reset(absl::MakeSpan(obs)).ok());
    const GridPos c = params.centre();
    EXPECT_EQ(obs, (std::vector<int32_t>{c.x, c.y, c.x, c.y, c.x, c.y}));
  }
}

// Shortest action sequences from the centre to every cell, by breadth-first
// search over the grid written independently of the environment.
std::vector<std::vector<int32_t>> ShortestPaths(int size, GridPos start) {
  struct Move {
    int32_t action, dx, dy;
  };
  const Move moves[] = {
      {kUp, 0, 1}, {kDown, 0, -1}, {kLeft, -1, 0}, {kRight, 1, 0}};
  std::vector<std::vector<int32_t>> path(size * size);
  std::vector<bool> seen(size * size, false);
  std::deque<GridPos> queue = {start};
  seen[start.y * size + start.x] = true;
  while (!queue.empty()) {
    const GridPos p = queue.front();
    queue.pop_front();
    for (const Move& m : moves) {
      const GridPos q{p.x + m.dx, p.y + m.dy};
      if (q.x < 0 || q.x >= size || q.y < 0 || q.y >= size) continue;
      if (seen[q.y * size + q.x]) continue;
      seen[q.y * size + q.x] = true;
      path[q.y * size + q.x] = path[p.y * size + p.x];
      path[q.y * size + q.x].push_back(m.action);
      queue.push_back(q);
    }
  }
  return path;
}

// Plays the BFS path to the goal and then stays, for one episode; returns the
// episode's return.
float PlayShortestPath(BatchedEnv& env, const std::vector<int32_t>& path) {
  StepBuffers out(env);
  float total = 0;
  for (int t = 0; t < env.space().episode_len; ++t) {
    const int32_t action = t < static_cast<int>(path.size()) ? path[t] : kNoOp;
    total += StepOne(env, out, action);
  }
  EXPECT_EQ(out.dones[0], 1);
  return total;
}

TEST(DarkRoomTest, OptimalReturnAgreesWithBreadthFirstSearch) {
  for (const DarkRoomParams& params :
       {DarkRoomDefaultParams(), DarkRoomHardParams()}) {
    SCOPED_TRACE(params.family);
    const DarkRoomFamily family(params);
    const std::vector<std::vector<int32_t>> paths =
        ShortestPaths(params.size, params.centre());
    double sum = 0;
    for (const std::string& task : family.AllTasks()) {
      SCOPED_TRACE(task);
      const GridPos goal = *ParseDarkRoomTask(params, task);
      const std::vector<int32_t>& path = paths[goal.y * params.size + goal.x];
      // Rewards come from step max(d, 1) on (every step) or once (Hard).
      const int d = static_cast<int>(path.size());
      const double expected =
          params.reward_once ? 1.0 : 20 - std::max(d, 1) + 1;
      const absl::StatusOr<double> optimal = family.OptimalReturn(task);
      ASSERT_TRUE(optimal.ok()) << optimal.status();
      EXPECT_EQ(*optimal, expected);
      auto env = MakeEnv(params, {task}, 1);
      EXPECT_EQ(PlayShortestPath(*env, path), expected);
      sum += *optimal;
    }
    if (!params.reward_once) {
      EXPECT_NEAR(sum / 81, 16.54, 0.005);
    }
  }
}

TEST(DarkRoomTest, ExpertAchievesOptimalReturnOnEveryGoal) {
  for (const DarkRoomParams& params :
       {DarkRoomDefaultParams(), DarkRoomHardParams()}) {
    SCOPED_TRACE(params.family);
    const DarkRoomFamily family(params);
    const std::vector<std::string> tasks = family.AllTasks();
    const int n = static_cast<int>(tasks.size());
    auto env = MakeEnv(params, tasks, n);
    StepBuffers out(*env);
    std::vector<int32_t> actions(n);
    for (int episode = 0; episode < 2; ++episode) {
      std::vector<double> returns(n, 0.0);
      for (int t = 0; t < params.episode_len; ++t) {
        ASSERT_TRUE(env->ExpertActions(absl::MakeSpan(actions)).ok());
        ASSERT_TRUE(env->Step(actions, out.output()).ok());
        for (int i = 0; i < n; ++i) returns[i] += out.rewards[i];
      }
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(env->task_id(i), tasks[i]);
        EXPECT_EQ(returns[i], *family.OptimalReturn(tasks[i])) << tasks[i];
      }
    }
  }
}

TEST(DarkRoomTest, BadStepInputIsRejectedAndChangesNothing) {
  const DarkRoomParams params = DarkRoomDefaultParams();
  const std::vector<std::string> tasks = {
      "darkroom/goal=5,4", "darkroom/goal=0,0", "darkroom/goal=8,8"};
  auto env = MakeEnv(params, tasks, 3);
  auto twin = MakeEnv(params, tasks, 3);
  ASSERT_NO_FATAL_FAILURE(testing::ExpectBadCallsChangeNothing(
      *env, *twin, /*warmup=*/{kRight, kLeft, kUp}, kNumGridActions,
      /*steps=*/45));
}

TEST(DarkRoomTest, TaskIdsRoundTrip) {
  for (const DarkRoomParams& params :
       {DarkRoomDefaultParams(), DarkRoomHardParams()}) {
    const std::vector<std::string> tasks = DarkRoomFamily(params).AllTasks();
    ASSERT_EQ(tasks.size(), static_cast<size_t>(params.size * params.size));
    for (const std::string& task : tasks) {
      const absl::StatusOr<GridPos> goal = ParseDarkRoomTask(params, task);
      ASSERT_TRUE(goal.ok()) << goal.status();
      EXPECT_EQ(FormatDarkRoomTask(params, *goal), task);
    }
  }
  EXPECT_EQ(FormatDarkRoomTask(DarkRoomDefaultParams(), {3, 7}),
            "darkroom/goal=3,7");
  EXPECT_EQ(FormatDarkRoomTask(DarkRoomHardParams(), {16, 0}),
            "darkroom_hard/goal=16,0");
}

TEST(DarkRoomTest, MalformedTaskIdsNameTheProblem) {
  const DarkRoomParams params = DarkRoomDefaultParams();
  struct Case {
    const char* id;
    const char* mentions;
  };
  for (const Case& c :
       {Case{"darkroom/goal=3", "\",\""}, Case{"darkroom/goal=a,1", "goal x"},
        Case{"darkroom/goal=03,1", "leading zero"},
        Case{"darkroom/goal=1,-2", "goal y"},
        Case{"darkroom/goal=1,2x", "trailing"},
        Case{"darkroom_hard/goal=1,1", "darkroom/goal="},
        Case{"", "darkroom/goal="}}) {
    const absl::StatusOr<GridPos> goal = ParseDarkRoomTask(params, c.id);
    EXPECT_EQ(goal.status().code(), absl::StatusCode::kInvalidArgument) << c.id;
    EXPECT_THAT(goal.status().message(), HasSubstr(c.mentions)) << c.id;
  }
  const absl::StatusOr<GridPos> off =
      ParseDarkRoomTask(params, "darkroom/goal=9,0");
  EXPECT_EQ(off.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(off.status().message(),
              AllOf(HasSubstr("goal x = 9"), HasSubstr("[0, 9)")));
  const absl::StatusOr<GridPos> hard_off =
      ParseDarkRoomTask(DarkRoomHardParams(), "darkroom_hard/goal=3,17");
  EXPECT_THAT(hard_off.status().message(),
              AllOf(HasSubstr("goal y = 17"), HasSubstr("[0, 17)")));
  EXPECT_FALSE(DarkRoomFamily(params).OptimalReturn("darkroom/goal=").ok());
}

TEST(DarkRoomTest, MakeRejectsBadArguments) {
  const DarkRoomFamily family(DarkRoomDefaultParams());
  const std::vector<std::string> one = {"darkroom/goal=1,1"};
  const std::vector<std::string> bad_second = {"darkroom/goal=1,1",
                                               "darkroom/goal=1,10"};
  absl::StatusOr<std::unique_ptr<BatchedEnv>> env =
      family.Make(bad_second, 2, 0);
  EXPECT_EQ(env.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(env.status().message(), HasSubstr("task_ids[1]"));
  env = family.Make(bad_second, 3, 0);
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(env.status().message(), HasSubstr("task_ids has 2 entries"));
  env = family.Make(one, 0, 0);
  EXPECT_THAT(env.status().message(), HasSubstr("num_envs = 0"));
  env = family.Make({}, 1, 0);
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  env = family.Make(one, 4, 0);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ((*env)->num_envs(), 4);
  EXPECT_EQ((*env)->task_id(3), "darkroom/goal=1,1");
}

}  // namespace
}  // namespace ad::envs
