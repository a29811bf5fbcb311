#include "envs/watermaze.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "common/rng.h"
#include "envs/env.h"
#include "envs/step_buffers.h"
#include "envs/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;
constexpr size_t kFrame = kWatermazeFrameBytes;

std::unique_ptr<WatermazeEnv> MakeEnv(const std::vector<std::string>& task_ids,
                                      int num_envs, uint64_t seed = 1) {
  absl::StatusOr<std::unique_ptr<WatermazeEnv>> env =
      WatermazeFamily().MakeWatermaze(task_ids, num_envs, seed);
  EXPECT_TRUE(env.ok()) << env.status();
  return *std::move(env);
}

std::vector<uint8_t> Render(const WatermazePose& pose) {
  std::vector<uint8_t> frame(kFrame);
  RenderWatermazeFrame(pose, absl::MakeSpan(frame));
  return frame;
}

// Instance i's frame in an int32 observation buffer, as bytes.
std::vector<uint8_t> FrameOf(const std::vector<int32_t>& obs, int i = 0) {
  return std::vector<uint8_t>(obs.begin() + i * kFrame,
                              obs.begin() + (i + 1) * kFrame);
}

// The oracle of the wall's look, from the documented rules alone: the
// colour of the pool wall seen along the horizontal ray at angle `phi` from
// (x, y), dimmed by its distance. Returns false when the ray hits within
// `margin` of a cue band edge, where rounding may decide either way.
bool ExpectedWallColour(double x, double y, double phi, Rgb* colour) {
  const double ex = std::cos(phi), ey = std::sin(phi);
  // |p + s e| = 1, s > 0.
  const double pe = x * ex + y * ey;
  const double s = -pe + std::sqrt(pe * pe - (x * x + y * y) + 1.0);
  double angle = std::atan2(y + s * ey, x + s * ex);
  if (angle < 0) angle += 2 * kPi;
  const double segments = angle / (2 * kPi / 8);
  const int segment = static_cast<int>(segments);
  const double within = segments - segment;
  constexpr double margin = 1e-3;
  if (std::abs(within - 0.06) < margin || std::abs(within - 0.94) < margin ||
      within < margin || within > 1 - margin) {
    return false;
  }
  const Rgb base = (within < 0.06 || within > 0.94)
                       ? kWatermazeBandColour
                       : kWatermazeCuePalette[segment];
  const double shade = 1.0 / (1.0 + 0.35 * s);
  for (int k = 0; k < 3; ++k) (*colour)[k] = std::lround(base[k] * shade);
  return true;
}

void ExpectPixelNear(const std::vector<uint8_t>& frame, int row, int col,
                     const Rgb& expected) {
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(frame[(row * kWatermazeWidth + col) * 3 + k], expected[k], 1)
        << "row " << row << " column " << col << " channel " << k;
  }
}

TEST(WatermazeTest, WallPixelsHaveTheCueColourSeenFromAKnownPose) {
  for (const WatermazePose& pose :
       {WatermazePose{0.0, 0.0, 0}, WatermazePose{0.3, -0.2, 5},
        WatermazePose{-0.6, 0.5, 10}, WatermazePose{0.0, 0.9, 3}}) {
    SCOPED_TRACE(::testing::Message() << "pose (" << pose.x << ", " << pose.y
                                      << ") heading " << pose.heading);
    const std::vector<uint8_t> frame = Render(pose);
    int checked = 0;
    for (int col = 0; col < kWatermazeWidth; ++col) {
      // A pinhole with a 90 degree field: column c looks atan(u) to the
      // right of the heading, u = (c + 0.5 - 48) / 48.
      const double u = (col + 0.5 - 48.0) / 48.0;
      const double phi = pose.heading * kPi / 6 - std::atan(u);
      Rgb expected;
      if (!ExpectedWallColour(pose.x, pose.y, phi, &expected)) continue;
      // The rows just around the horizon always show the wall.
      ExpectPixelNear(frame, 35, col, expected);
      ExpectPixelNear(frame, 36, col, expected);
      ++checked;
    }
    EXPECT_GT(checked, 90);
  }
  // From the centre the wall is at least 1 away: the top row is sky and the
  // bottom row water at depth 0.15 / (35.5 / 48).
  const std::vector<uint8_t> frame = Render(WatermazePose{0.0, 0.0, 2});
  ExpectPixelNear(frame, 0, 10, kWatermazeSkyColour);
  const double shade = 1.0 / (1.0 + 0.35 * 0.15 / (35.5 / 48.0));
  Rgb water;
  for (int k = 0; k < 3; ++k) {
    water[k] = std::lround(kWatermazeWaterColour[k] * shade);
  }
  ExpectPixelNear(frame, 71, 50, water);
}

TEST(WatermazeTest, WallLooksTallerUpClose) {
  auto wall_rows = [](const WatermazePose& pose) {
    const std::vector<uint8_t> frame = Render(pose);
    const std::vector<uint8_t> sky = {
        kWatermazeSkyColour[0], kWatermazeSkyColour[1], kWatermazeSkyColour[2]};
    int rows = 0;
    for (int r = 0; r < 36; ++r) {  // the middle column, above the horizon
      const uint8_t* p = &frame[(r * kWatermazeWidth + 48) * 3];
      if (!std::equal(sky.begin(), sky.end(), p)) ++rows;
    }
    return rows;
  };
  // Facing +x from the centre the wall is 1 away, from (0.9, 0) only 0.1:
  // its top (0.35 above the eye) is 0.35 / d * 48 rows above the horizon.
  EXPECT_NEAR(wall_rows({0.0, 0.0, 0}), 0.35 * 48, 1.0);
  EXPECT_EQ(wall_rows({0.9, 0.0, 0}), 36);
  EXPECT_NEAR(wall_rows({-0.5, 0.0, 0}), 0.35 / 1.5 * 48, 1.0);
}

TEST(WatermazeTest, FullTurnReturnsTheSameFrame) {
  auto env = MakeEnv({"watermaze/platform=20,9"}, 1);
  StepBuffers out(*env);
  std::vector<int32_t> first(kFrame);
  // Move off the centre first, so the view is not symmetric in any way.
  for (int32_t action : {kSwimForward, kStrafeLeft, kSwimForward}) {
    ASSERT_TRUE(env->Step(std::vector<int32_t>{action}, out.output()).ok());
  }
  first = out.obs;
  for (int32_t turn : {kRotateLeft, kRotateRight}) {
    for (int k = 1; k <= kWatermazeHeadings; ++k) {
      ASSERT_TRUE(env->Step(std::vector<int32_t>{turn}, out.output()).ok());
      if (k < kWatermazeHeadings) {
        EXPECT_NE(out.obs, first) << k << " turns";
      } else {
        EXPECT_EQ(out.obs, first) << "a full turn";
      }
    }
  }
}

TEST(WatermazeTest, PlatformIsInvisible) {
  // Same seed and actions, platforms on opposite sides: identical frames,
  // also while one of the agents stands on its platform.
  const std::vector<std::string> a = {"watermaze/platform=25,15",
                                      "watermaze/platform=15,21"};
  const std::vector<std::string> b = {"watermaze/platform=5,15",
                                      "watermaze/platform=15,9"};
  auto env_a = MakeEnv(a, 2, /*seed=*/7);
  auto env_b = MakeEnv(b, 2, /*seed=*/7);
  StepBuffers out_a(*env_a), out_b(*env_b);
  std::vector<int32_t> actions(2);
  float rewards_a = 0;
  for (int t = 0; t < 150; ++t) {
    ASSERT_TRUE(env_a->ExpertActions(absl::MakeSpan(actions)).ok());
    ASSERT_TRUE(env_a->Step(actions, out_a.output()).ok());
    ASSERT_TRUE(env_b->Step(actions, out_b.output()).ok());
    ASSERT_EQ(out_a.obs, out_b.obs) << "t=" << t;
    rewards_a += out_a.rewards[0] + out_a.rewards[1];
  }
  EXPECT_GT(rewards_a, 0.0f);
}

TEST(WatermazeTest, SameSeedGivesTheSameFrames) {
  const std::vector<std::string> tasks = WatermazeFamily().AllTasks();
  const std::vector<std::string> some(tasks.begin(), tasks.begin() + 8);
  auto env = MakeEnv(some, 8, /*seed=*/3);
  auto twin = MakeEnv(some, 8, /*seed=*/3);
  auto other = MakeEnv(some, 8, /*seed=*/4);
  StepBuffers out(*env), twin_out(*twin), other_out(*other);
  ASSERT_TRUE(env->Reset(absl::MakeSpan(out.obs)).ok());
  ASSERT_TRUE(twin->Reset(absl::MakeSpan(twin_out.obs)).ok());
  ASSERT_TRUE(other->Reset(absl::MakeSpan(other_out.obs)).ok());
  EXPECT_EQ(out.obs, twin_out.obs);
  EXPECT_NE(out.obs, other_out.obs);  // 8 start headings all equal: 12^-8
  SplitMix64 rng(99);
  std::vector<int32_t> actions(8);
  for (int t = 0; t < 120; ++t) {  // crosses two automatic resets
    for (int32_t& a : actions) a = rng.NextBelow(kWatermazeNumActions);
    ASSERT_NO_FATAL_FAILURE(
        testing::StepTwins(*env, *twin, actions, out, twin_out, t));
  }
}

TEST(WatermazeTest, ObservationsAreTheRenderedBytes) {
  auto env =
      MakeEnv({"watermaze/platform=10,22", "watermaze/platform=27,15"}, 2);
  StepBuffers out(*env);
  std::vector<uint8_t> frames(2 * kFrame);
  for (int t = 0; t < 5; ++t) {
    ASSERT_TRUE(
        env->Step(std::vector<int32_t>{kSwimForward, kRotateLeft}, out.output())
            .ok());
    ASSERT_TRUE(env->RenderFrames(absl::MakeSpan(frames)).ok());
    for (int i = 0; i < 2; ++i) {
      const std::vector<uint8_t> frame(frames.begin() + i * kFrame,
                                       frames.begin() + (i + 1) * kFrame);
      EXPECT_EQ(FrameOf(out.obs, i), frame);
      EXPECT_EQ(Render(env->pose(i)), frame);
    }
  }
  for (int32_t v : out.obs) ASSERT_TRUE(v >= 0 && v < 256) << v;
  std::vector<uint8_t> short_frames(kFrame);
  EXPECT_EQ(env->RenderFrames(absl::MakeSpan(short_frames)).code(),
            absl::StatusCode::kInvalidArgument);
}

// The motion rules, written independently of the environment.
struct OraclePose {
  double x, y;
  int heading;
};
OraclePose OracleMove(OraclePose p, int action) {
  const double angle = p.heading * kPi / 6;
  double forward = 0, left = 0;
  int turn = 0;
  if (action == 0 || action >= 6) forward = 0.1;
  if (action == 1) forward = -0.1;
  if (action == 2) left = 0.1;
  if (action == 3) left = -0.1;
  if (action == 4 || action == 6) turn = 1;
  if (action == 5 || action == 7) turn = -1;
  p.x += forward * std::cos(angle) + left * std::cos(angle + kPi / 2);
  p.y += forward * std::sin(angle) + left * std::sin(angle + kPi / 2);
  const double r = std::sqrt(p.x * p.x + p.y * p.y);
  if (r > 0.95) {
    p.x *= 0.95 / r;
    p.y *= 0.95 / r;
  }
  p.heading = (p.heading + turn + 12) % 12;
  return p;
}

// The start heading of an episode, found by matching its first frame
// against the views from the centre: -1 unless exactly one matches.
int StartHeading(const std::vector<uint8_t>& frame) {
  int found = -1;
  for (int h = 0; h < kWatermazeHeadings; ++h) {
    if (Render(WatermazePose{0.0, 0.0, h}) != frame) continue;
    if (found >= 0) return -1;
    found = h;
  }
  return found;
}

TEST(WatermazeTest, RewardIsOneExactlyWhenTheAgentIsInThePlatformDisc) {
  const std::vector<std::string> tasks = {
      "watermaze/platform=20,9", "watermaze/platform=15,27",
      "watermaze/platform=4,12", "watermaze/platform=19,19"};
  const int n = static_cast<int>(tasks.size());
  auto env = MakeEnv(tasks, n, /*seed=*/11);
  StepBuffers out(*env);
  ASSERT_TRUE(env->Reset(absl::MakeSpan(out.obs)).ok());
  std::vector<OraclePose> oracle(n);
  std::vector<double> px(n), py(n);
  for (int i = 0; i < n; ++i) {
    const int heading = StartHeading(FrameOf(out.obs, i));
    ASSERT_GE(heading, 0) << "instance " << i;
    oracle[i] = OraclePose{0.0, 0.0, heading};
    int gx = 0, gy = 0;
    ASSERT_EQ(
        std::sscanf(tasks[i].c_str(), "watermaze/platform=%d,%d", &gx, &gy), 2);
    px[i] = (gx - 15) * 0.05;
    py[i] = (gy - 15) * 0.05;
  }
  SplitMix64 rng(5);
  std::vector<int32_t> actions(n);
  int on = 0, off = 0;
  for (int t = 1; t <= 4 * kWatermazeEpisodeLen; ++t) {
    // Half expert moves, so that the agents reach their platforms.
    ASSERT_TRUE(env->ExpertActions(absl::MakeSpan(actions)).ok());
    for (int32_t& a : actions) {
      if (rng.NextUnit() < 0.4) a = rng.NextBelow(kWatermazeNumActions);
    }
    ASSERT_TRUE(env->Step(actions, out.output()).ok());
    for (int i = 0; i < n; ++i) {
      oracle[i] = OracleMove(oracle[i], actions[i]);
      const double dx = oracle[i].x - px[i], dy = oracle[i].y - py[i];
      const double distance = std::sqrt(dx * dx + dy * dy);
      if (std::abs(distance - 0.12) > 1e-9) {
        EXPECT_EQ(out.rewards[i], distance < 0.12 ? 1.0f : 0.0f)
            << "t=" << t << " instance " << i << " distance " << distance;
      }
      (distance < 0.12 ? on : off)++;
      EXPECT_EQ(out.dones[i], t % kWatermazeEpisodeLen == 0 ? 1 : 0);
      if (out.dones[i]) {
        const int heading = StartHeading(FrameOf(out.obs, i));
        ASSERT_GE(heading, 0) << "t=" << t << " instance " << i;
        oracle[i] = OraclePose{0.0, 0.0, heading};
      } else {
        EXPECT_NEAR(env->pose(i).x, oracle[i].x, 1e-9);
        EXPECT_NEAR(env->pose(i).y, oracle[i].y, 1e-9);
        EXPECT_EQ(env->pose(i).heading, oracle[i].heading);
      }
    }
  }
  EXPECT_GT(on, 50);
  EXPECT_GT(off, 50);
}

TEST(WatermazeTest, ExpertReachesThePlatformFromEveryStartHeading) {
  // For every task and start heading: the expert arrives, stays, and its
  // return is what OptimalReturn averages; the return is at most that of a
  // straight swim at full speed and at most 2 steps behind it.
  const WatermazeFamily family;
  for (const std::string& id : family.AllTasks()) {
    const WatermazeTask task = *ParseWatermazeTask(id);
    const WatermazePoint platform = WatermazePlatformCentre(task);
    const double distance = std::hypot(platform.x, platform.y);
    const int fewest_moves =
        static_cast<int>(std::ceil((distance - 0.12) / 0.1 - 1e-9));
    const double best_possible = kWatermazeEpisodeLen - fewest_moves + 1;
    double sum = 0;
    for (int h = 0; h < kWatermazeHeadings; ++h) {
      WatermazePose pose{0.0, 0.0, h};
      int arrival = 0;
      double ret = 0;
      for (int t = 1; t <= kWatermazeEpisodeLen; ++t) {
        pose =
            ApplyWatermazeAction(pose, WatermazeExpertAction(pose, platform));
        const bool on = OnWatermazePlatform(pose, platform);
        if (on && arrival == 0) arrival = t;
        if (arrival > 0) {
          ASSERT_TRUE(on) << id << " heading " << h << ": left at t=" << t;
        }
        ret += on ? 1 : 0;
      }
      ASSERT_GT(arrival, 0) << id << " heading " << h;
      EXPECT_LE(ret, best_possible) << id;
      EXPECT_GE(ret, best_possible - 2) << id << " heading " << h;
      sum += ret;
    }
    const absl::StatusOr<double> optimal = family.OptimalReturn(id);
    ASSERT_TRUE(optimal.ok()) << optimal.status();
    EXPECT_DOUBLE_EQ(*optimal, sum / kWatermazeHeadings) << id;
  }
}

TEST(WatermazeTest, BatchedExpertReachesThePlatformOnASampleOfTasks) {
  const WatermazeFamily family;
  const std::vector<std::string> tasks =
      EvenlySpacedTasks(family.AllTasks(), 40);
  const int n = static_cast<int>(tasks.size());
  auto env = MakeEnv(tasks, n, /*seed=*/21);
  StepBuffers out(*env);
  std::vector<int32_t> actions(n);
  for (int episode = 0; episode < 3; ++episode) {
    std::vector<double> returns(n, 0.0);
    std::vector<WatermazePose> starts(n);
    for (int i = 0; i < n; ++i) starts[i] = env->pose(i);
    for (int t = 0; t < kWatermazeEpisodeLen; ++t) {
      ASSERT_TRUE(env->ExpertActions(absl::MakeSpan(actions)).ok());
      ASSERT_TRUE(env->Step(actions, out.output()).ok());
      for (int i = 0; i < n; ++i) returns[i] += out.rewards[i];
    }
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(env->task_id(i), tasks[i]);
      EXPECT_GE(returns[i], 25) << tasks[i] << " episode " << episode;
      // The same return as the expert simulated from that start.
      const WatermazePoint platform =
          WatermazePlatformCentre(*ParseWatermazeTask(tasks[i]));
      WatermazePose pose = starts[i];
      double expected = 0;
      for (int t = 0; t < kWatermazeEpisodeLen; ++t) {
        pose =
            ApplyWatermazeAction(pose, WatermazeExpertAction(pose, platform));
        expected += OnWatermazePlatform(pose, platform) ? 1 : 0;
      }
      EXPECT_EQ(returns[i], expected) << tasks[i];
    }
  }
}

TEST(WatermazeTest, BadStepInputIsRejectedAndChangesNothing) {
  const std::vector<std::string> tasks = {"watermaze/platform=20,9",
                                          "watermaze/platform=10,10",
                                          "watermaze/platform=15,27"};
  auto env = MakeEnv(tasks, 3);
  auto twin = MakeEnv(tasks, 3);
  // Stepping on crosses an automatic reset.
  ASSERT_NO_FATAL_FAILURE(testing::ExpectBadCallsChangeNothing(
      *env, *twin, /*warmup=*/{kSwimForward, kRotateLeft, kStrafeLeft},
      kWatermazeNumActions, /*steps=*/60));
}

TEST(WatermazeTest, TasksFormAnAnnulusOfPlatformCentres) {
  const WatermazeFamily family;
  const std::vector<std::string> tasks = family.AllTasks();
  EXPECT_EQ(tasks.size(), 640u);
  for (const std::string& id : tasks) {
    const absl::StatusOr<WatermazeTask> task = ParseWatermazeTask(id);
    ASSERT_TRUE(task.ok()) << task.status();
    EXPECT_EQ(FormatWatermazeTask(*task), id);
    const WatermazePoint c = WatermazePlatformCentre(*task);
    const double r = std::hypot(c.x, c.y);
    EXPECT_GE(r, 0.25 - 1e-9) << id;
    EXPECT_LE(r, 0.75 + 1e-9) << id;
  }
  const WatermazePoint c = WatermazePlatformCentre({20, 9});
  EXPECT_NEAR(c.x, 0.25, 1e-12);
  EXPECT_NEAR(c.y, -0.3, 1e-12);
  // The default split keeps both sides non-empty.
  const TaskSplit split =
      family.Split(kDefaultTrainFraction, kDefaultSplitSeed);
  EXPECT_EQ(split.train.size(), 480u);
  EXPECT_EQ(split.test.size(), 160u);
  const SpaceSpec& space = family.space();
  EXPECT_EQ(space.obs_dim, 72 * 96 * 3);
  EXPECT_EQ(space.obs_high.size(), static_cast<size_t>(space.obs_dim));
  EXPECT_EQ(space.obs_high[0], 256);
  EXPECT_EQ(space.num_actions, 8);
  EXPECT_EQ(space.episode_len, 50);
}

TEST(WatermazeTest, MalformedTaskIdsNameTheProblem) {
  struct Case {
    const char* id;
    absl::StatusCode code;
    const char* mentions;
  };
  for (const Case& c : {
           Case{"watermaze/platform=3", absl::StatusCode::kInvalidArgument,
                "\",\""},
           Case{"watermaze/goal=3,4", absl::StatusCode::kInvalidArgument,
                "watermaze/platform=X,Y"},
           Case{"watermaze/platform=a,1", absl::StatusCode::kInvalidArgument,
                "platform x"},
           Case{"watermaze/platform=31,15", absl::StatusCode::kNotFound,
                "[0, 31)"},
           Case{"watermaze/platform=15,16", absl::StatusCode::kNotFound,
                "outside [5, 15]"},
           Case{"watermaze/platform=0,0", absl::StatusCode::kNotFound,
                "outside [5, 15]"},
       }) {
    const absl::StatusOr<WatermazeTask> task = ParseWatermazeTask(c.id);
    EXPECT_EQ(task.status().code(), c.code) << c.id;
    EXPECT_THAT(task.status().message(), HasSubstr(c.mentions)) << c.id;
  }
  const WatermazeFamily family;
  EXPECT_FALSE(family.OptimalReturn("watermaze/platform=15,15").ok());
  absl::StatusOr<std::unique_ptr<BatchedEnv>> env =
      family.Make({"watermaze/platform=20,9", "watermaze/platform=1,1"}, 2, 0);
  EXPECT_EQ(env.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(env.status().message(), HasSubstr("task_ids[1]"));
}

}  // namespace
}  // namespace ad::envs
