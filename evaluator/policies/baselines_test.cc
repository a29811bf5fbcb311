#include "evaluator/policies/baselines.h"

#include <cmath>
#include <string>
#include <vector>

#include "envs/registry.h"
#include "evaluator/rollout.h"
#include "glog/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::evaluator {
namespace {

std::vector<RowSpec> Rows(const std::vector<std::string>& tasks, int seeds) {
  std::vector<RowSpec> rows;
  for (const auto& task : tasks) {
    for (int s = 0; s < seeds; ++s) rows.push_back(RowSpec{task, uint64_t(s)});
  }
  return rows;
}

const envs::EnvFamily& Family(const std::string& name) {
  auto family = envs::FindFamily(name);
  CHECK(family.ok()) << family.status();
  return **family;
}

// Expected return of one Dark Room episode under the uniform random policy,
// by propagating the position distribution step by step.
double RandomDarkRoomReturn(int size, int episode_len, int gx, int gy) {
  std::vector<double> p(size * size, 0.0);
  p[(size / 2) * size + size / 2] = 1.0;
  const int dx[5] = {0, 0, 0, -1, 1};
  const int dy[5] = {0, 1, -1, 0, 0};
  double expected = 0;
  for (int t = 0; t < episode_len; ++t) {
    std::vector<double> next(p.size(), 0.0);
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        for (int a = 0; a < 5; ++a) {
          int nx = x + dx[a], ny = y + dy[a];
          if (nx < 0 || nx >= size) nx = x;
          if (ny < 0 || ny >= size) ny = y;
          next[ny * size + nx] += p[y * size + x] / 5.0;
        }
      }
    }
    p.swap(next);
    expected += p[gy * size + gx];
  }
  return expected;
}

TEST(BaselinesTest, OptimalEarnsTheOptimalReturnEveryEpisode) {
  for (const std::string name : {"darkroom", "key_to_door"}) {
    const envs::EnvFamily& family = Family(name);
    std::vector<std::string> tasks = family.AllTasks();
    tasks.resize(std::min<size_t>(tasks.size(), 40));
    OptimalPolicy policy;
    RolloutOptions options;
    options.episodes = 3;
    options.context_len = 4;
    auto result = RunRollout(family, Rows(tasks, 2), policy, options);
    ASSERT_TRUE(result.ok()) << result.status();
    for (size_t r = 0; r < result->rows.size(); ++r) {
      const double optimal = *family.OptimalReturn(result->rows[r].task_id);
      for (int e = 0; e < 3; ++e) {
        EXPECT_DOUBLE_EQ(result->Return(r, e), optimal)
            << result->rows[r].task_id << " episode " << e;
      }
    }
  }
}

TEST(BaselinesTest, RandomMatchesTheAnalyticExpectationOnDarkRoom) {
  const envs::EnvFamily& family = Family("darkroom");
  const std::vector<std::string> tasks = family.AllTasks();
  RandomPolicy policy;
  RolloutOptions options;
  options.episodes = 10;
  options.context_len = 1;
  auto result = RunRollout(family, Rows(tasks, 12), policy, options);
  ASSERT_TRUE(result.ok()) << result.status();
  double expected = 0;
  for (int gx = 0; gx < 9; ++gx) {
    for (int gy = 0; gy < 9; ++gy) {
      expected += RandomDarkRoomReturn(9, 20, gx, gy) / 81.0;
    }
  }
  double sum = 0, sum_sq = 0;
  for (float r : result->returns) {
    sum += r;
    sum_sq += r * r;
  }
  const double n = result->returns.size();
  const double mean = sum / n;
  const double std_error = std::sqrt((sum_sq / n - mean * mean) / n);
  EXPECT_NEAR(mean, expected, 4 * std_error)
      << "analytic " << expected << ", measured " << mean;
  EXPECT_GT(expected, 0.1);
}

TEST(BaselinesTest, HeuristicIsOptimalAfterItsFirstRewardedEpisode) {
  const envs::EnvFamily& family = Family("darkroom");
  HeuristicPolicy heuristic;
  RandomPolicy random;
  RolloutOptions options;
  options.episodes = 30;
  options.context_len = 80;
  const std::vector<RowSpec> rows = Rows(family.AllTasks(), 3);
  auto h = RunRollout(family, rows, heuristic, options);
  auto r = RunRollout(family, rows, random, options);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(r.ok()) << r.status();
  double h_sum = 0, r_sum = 0;
  int rewarded_rows = 0;
  for (size_t row = 0; row < rows.size(); ++row) {
    const double optimal = *family.OptimalReturn(rows[row].task_id);
    int first = -1;
    for (int e = 0; e < options.episodes; ++e) {
      h_sum += h->Return(row, e);
      r_sum += r->Return(row, e);
      if (first < 0 && h->Return(row, e) > 0) first = e;
      if (first >= 0 && e > first) {
        EXPECT_DOUBLE_EQ(h->Return(row, e), optimal)
            << rows[row].task_id << " seed " << rows[row].seed << " episode "
            << e << " (first reward in episode " << first << ")";
      }
    }
    rewarded_rows += first >= 0;
  }
  EXPECT_GT(h_sum, 3 * r_sum);
  // Random exploration finds most goals within 30 episodes.
  EXPECT_GT(rewarded_rows, static_cast<int>(rows.size()) * 3 / 4);
}

TEST(BaselinesTest, HeuristicPullsTheLastPayingArmOnTheBandit) {
  const envs::EnvFamily& family = Family("bandit");
  HeuristicPolicy heuristic;
  RandomPolicy random;
  RolloutOptions options;
  options.episodes = 100;
  options.context_len = 100;
  const std::vector<RowSpec> rows = Rows(family.Split(0.5, 1).test, 1);
  auto h = RunRollout(family, rows, heuristic, options);
  auto r = RunRollout(family, rows, random, options);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_TRUE(r.ok()) << r.status();
  double h_sum = 0, r_sum = 0;
  for (float v : h->returns) h_sum += v;
  for (float v : r->returns) r_sum += v;
  EXPECT_GT(h_sum, r_sum);
}

TEST(BaselinesTest, HeuristicRejectsAFamilyItHasNoRuleFor) {
  HeuristicPolicy heuristic;
  envs::SpaceSpec space;
  space.family = "watermaze";
  space.num_actions = 8;
  absl::Status s = heuristic.Begin(space, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("watermaze"));
}

TEST(BaselinesTest, MakeBaselineNamesTheKnownOnes) {
  EXPECT_TRUE(MakeBaseline("heuristic").ok());
  auto unknown = MakeBaseline("oracle");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), ::testing::HasSubstr("random"));
}

}  // namespace
}  // namespace ad::evaluator
