#include "actors/rmax.h"

#include <algorithm>
#include <string>
#include <vector>

#include "actors/source_test_util.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

// Index of a stream's first rewarded episode, or its length if none.
int FirstRewarded(const std::vector<float>& returns) {
  const auto it = std::find_if(returns.begin(), returns.end(),
                               [](float r) { return r > 0; });
  return static_cast<int>(it - returns.begin());
}

double MeanFirstRewarded(const TaskRunResult& r) {
  double sum = 0;
  for (const auto& s : r.episode_returns) sum += FirstRewarded(s);
  return sum / static_cast<double>(r.episode_returns.size());
}

// A model-based learner stops exploring once it has a reward to go back to.
// Its model of Dark Room is exact once it has tried each action (the moves
// are the same everywhere), so from the second episode after a stream's
// first reward (the first may have paid on its last step, which shows the
// pair but not the cell) every episode is optimal: the family's optimal
// return is the independent oracle. It searches systematically, so it finds
// far goals in far fewer episodes than a uniformly random walk (measured
// here, same goals and seeds).
TEST(RmaxTest, SearchesFasterThanRandomThenExploitsWhatItFound) {
  for (const std::string task :
       {"darkroom/goal=0,0", "darkroom/goal=8,1", "darkroom/goal=3,8"}) {
    SCOPED_TRACE(task);
    auto rmax = RunSource("rmax", task, /*seed=*/5, TempDir("rmax"),
                          {"rmax.streams=8", "rmax.episodes=60"});
    ASSERT_TRUE(rmax.ok()) << rmax.status();
    auto random = RunSource("random", task, /*seed=*/5, TempDir("random"),
                            {"random.streams=8", "random.episodes=60"});
    ASSERT_TRUE(random.ok()) << random.status();
    for (const auto& s : rmax->episode_returns) {
      const int first = FirstRewarded(s);
      ASSERT_LT(first, 59) << "a stream never found the goal";
      for (size_t e = first + 2; e < s.size(); ++e) {
        ASSERT_EQ(s[e], rmax->optimal_return) << "episode " << e;
      }
    }
    LOG(INFO) << task << ": first reward at episode "
              << MeanFirstRewarded(*rmax) << " (random "
              << MeanFirstRewarded(*random) << ")";
    EXPECT_LT(MeanFirstRewarded(*rmax), 0.5 * MeanFirstRewarded(*random));
  }
}

// Dark Room Hard pays once per episode, so (x, y) is not a Markov state;
// with the "paid this episode" bit (reward_memory 2) the model is exact and
// every episode after the first rewarded one collects the optimal 1: the
// path walked in the discovery episode took at most one episode's steps.
TEST(RmaxTest, RewardMemoryMakesDarkRoomHardExact) {
  for (const std::string task :
       {"darkroom_hard/goal=2,14", "darkroom_hard/goal=16,9"}) {
    SCOPED_TRACE(task);
    auto rmax = RunSource(
        "rmax", task, /*seed=*/2, TempDir("rmax_hard"),
        {"rmax.streams=4", "rmax.episodes=80", "rmax.reward_memory=2"});
    ASSERT_TRUE(rmax.ok()) << rmax.status();
    for (const auto& s : rmax->episode_returns) {
      const int first = FirstRewarded(s);
      ASSERT_LT(first, 79) << "a stream never found the goal";
      for (size_t e = first; e < s.size(); ++e) {
        ASSERT_EQ(s[e], rmax->optimal_return) << "episode " << e;
      }
    }
    LOG(INFO) << task << ": first reward at episode "
              << MeanFirstRewarded(*rmax);
  }
}

TEST(RmaxTest, BadOptionsAreNamed) {
  for (const auto& [set, want] :
       std::vector<std::pair<std::string, std::string>>{
           {"rmax.discount=1", "rmax.discount"},
           {"rmax.novelty_value=-1", "rmax.novelty_value"},
           {"rmax.reward_memory=65", "rmax.reward_memory"},
           {"rmax.max_sweeps=0", "rmax.max_sweeps"}}) {
    SCOPED_TRACE(set);
    auto r =
        RunSource("rmax", "darkroom/goal=1,1", 1, TempDir("rmax_bad"), {set});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status();
  }
}

}  // namespace
}  // namespace ad::actors
