#include "actors/a3c.h"

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "actors/grouped_mlp.h"
#include "actors/source_test_util.h"
#include "envs/registry.h"
#include "glog/logging.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::MeanReturn;
using ::ad::actors::testing::RunSource;
using ::ad::actors::testing::TempDir;

// The test preset's budget: 32 streams sharing one learner, 200 episodes per
// stream, Adam lr 1e-3 (Table 4 otherwise). On four goals at distances 3..8
// from the centre, episodes 180..199 of every stream average >= 80% of the
// optimal return (measured: ~97% from episode ~150 on).
TEST(A3cTest, ReachesEightyPercentOfOptimalOnDarkRoomGoals) {
  double late_sum = 0, optimal_sum = 0;
  for (const std::string task : {"darkroom/goal=8,0", "darkroom/goal=2,7",
                                 "darkroom/goal=6,6", "darkroom/goal=1,3"}) {
    SCOPED_TRACE(task);
    auto result = RunSource("a3c", task, /*seed=*/5, TempDir("a3c"));
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->episode_returns.size(), 32u);
    const double early = MeanReturn(*result, 0, 10);
    const double late = MeanReturn(*result, 180, 200);
    LOG(INFO) << task << ": episodes 0-9 " << early << ", 180-199 " << late
              << ", optimal " << result->optimal_return;
    EXPECT_GE(late, 0.7 * result->optimal_return);
    EXPECT_LT(early, 0.3 * result->optimal_return);
    late_sum += late;
    optimal_sum += result->optimal_return;
  }
  EXPECT_GE(late_sum, 0.8 * optimal_sum);
}

TEST(A3cTest, SameSeedSameHistory) {
  auto a = RunSource("a3c", "darkroom/goal=3,3", /*seed=*/9, TempDir("a3c_a"),
                     {"a3c.streams=4", "a3c.episodes=20"});
  auto b = RunSource("a3c", "darkroom/goal=3,3", /*seed=*/9, TempDir("a3c_b"),
                     {"a3c.streams=4", "a3c.episodes=20"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->episode_returns, b->episode_returns);
}

// Drives an A3C agent with 2 streams on a Dark Room space by hand: both
// streams see the same observations; stream 0 is never rewarded, stream 1 is
// rewarded on every step iff `reward_stream_one`. Returns stream 0's actions.
// With `stream_one_elsewhere`, stream 1 walks other cells than stream 0
// (its x follows a schedule of its own): what it visits and sees differs,
// stream 0's own experience does not.
std::vector<int32_t> StreamZeroActions(const std::string& actors_per_learner,
                                       bool reward_stream_one,
                                       double visit_bonus = 0,
                                       bool stream_one_elsewhere = false) {
  SourceParams params;
  CHECK(params.Override("a3c.actors_per_learner=" + actors_per_learner).ok());
  CHECK(params.Override("a3c.learning_rate=1e-2").ok());
  CHECK(params.Override(absl::StrCat("a3c.visit_bonus=", visit_bonus)).ok());
  TaskSpec spec;
  spec.space = envs::FindFamily("darkroom").value()->space();
  spec.task_id = "darkroom/goal=1,1";
  spec.num_streams = 2;
  spec.episodes_per_stream = 20;
  spec.seed = 3;
  auto agent = MakeA3cAgent(spec, params);
  CHECK(agent.ok()) << agent.status();
  std::vector<int32_t> zero_actions;
  std::vector<int32_t> obs = {4, 4, 4, 4}, next = obs;
  std::vector<int32_t> actions(2);
  for (int t = 0; t < 20 * 20; ++t) {
    CHECK((*agent)->Act(obs, {}, absl::MakeSpan(actions)).ok());
    zero_actions.push_back(actions[0]);
    // Both streams move the same way (stream 0's action), so the inputs
    // stay equal; only the rewards differ.
    next = {obs[0], (obs[1] + 1 + actions[0]) % 9, obs[0],
            (obs[1] + 1 + actions[0]) % 9};
    if (stream_one_elsewhere) next[2] = (t / 20) % 9;
    const std::vector<float> rewards = {0.0f, reward_stream_one ? 1.0f : 0.0f};
    const uint8_t done = (t + 1) % 20 == 0 ? 1 : 0;
    const std::vector<uint8_t> dones = {done, done};
    CHECK((*agent)->Observe({obs, actions, rewards, dones, next}).ok());
    obs = next;
  }
  return zero_actions;
}

// actors_per_learner = 1 makes every stream its own single-stream A3C: what
// another stream experiences cannot change this stream's policy. With one
// shared learner (0) it must.
TEST(A3cTest, SingleStreamLearnersAreIndependentSharedOneIsNot) {
  EXPECT_EQ(StreamZeroActions("1", /*reward_stream_one=*/false),
            StreamZeroActions("1", /*reward_stream_one=*/true));
  EXPECT_NE(StreamZeroActions("0", /*reward_stream_one=*/false),
            StreamZeroActions("0", /*reward_stream_one=*/true));
}

// The visit bonus trains the policy with no reward at all, and its counts
// belong to each learner: with single-stream learners, where another
// stream goes does not change this stream's actions; with one shared
// learner it does.
TEST(A3cTest, VisitBonusShapesPolicyFromTheLearnersOwnVisits) {
  EXPECT_NE(StreamZeroActions("1", false, /*visit_bonus=*/0),
            StreamZeroActions("1", false, /*visit_bonus=*/1));
  EXPECT_EQ(StreamZeroActions("1", false, 1, /*stream_one_elsewhere=*/false),
            StreamZeroActions("1", false, 1, /*stream_one_elsewhere=*/true));
  EXPECT_NE(StreamZeroActions("0", false, 1, /*stream_one_elsewhere=*/false),
            StreamZeroActions("0", false, 1, /*stream_one_elsewhere=*/true));
}

TEST(A3cTest, RejectsStreamsNotAMultipleOfActorsPerLearner) {
  SourceParams params;
  ASSERT_TRUE(params.Override("a3c.actors_per_learner=3").ok());
  TaskSpec spec;
  spec.space = envs::FindFamily("darkroom").value()->space();
  spec.task_id = "darkroom/goal=1,1";
  spec.num_streams = 4;
  auto agent = MakeA3cAgent(spec, params);
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(agent.status().message().find("actors_per_learner"),
            std::string::npos);
}

TEST(A3cTest, RejectsBadOptionsNamingTheKey) {
  SourceParams params;
  ASSERT_TRUE(params.Override("a3c.gae_lambda=1.5").ok());
  auto options = A3cOptions::FromParams(params);
  EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.status().message().find("a3c.gae_lambda"),
            std::string::npos);
}

TEST(A3cTest, RejectsBadInitOptionsNamingTheKey) {
  for (const char* bad :
       {"a3c.value_init=inf", "a3c.value_init=nan", "a3c.value_init=2e6",
        "a3c.policy_init_gain=-1", "a3c.policy_init_gain=101",
        "a3c.visit_bonus=-0.1", "a3c.visit_bonus=nan", "a3c.visit_bonus=1e3"}) {
    SCOPED_TRACE(bad);
    SourceParams params;
    ASSERT_TRUE(params.Override(bad).ok());
    auto options = A3cOptions::FromParams(params);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string key(bad, std::string_view(bad).find('='));
    EXPECT_NE(options.status().message().find(key), std::string::npos)
        << options.status();
  }
}

TEST(GroupedMlpTest, HeadBiasStartsAtTheGivenConstantOtherWeightsUnchanged) {
  std::mt19937_64 rng_a(7), rng_b(7);
  GroupedMlp plain(/*groups=*/3, /*in=*/4, /*hidden=*/8, /*layers=*/2,
                   {{5, 0.01, std::nullopt}, {1, 1.0, std::nullopt}}, rng_a);
  GroupedMlp optimistic(3, 4, 8, 2, {{5, 0.01, std::nullopt}, {1, 1.0, 2.5}},
                        rng_b);
  const std::vector<torch::Tensor> p = plain.parameters();
  const std::vector<torch::Tensor> q = optimistic.parameters();
  ASSERT_EQ(p.size(), q.size());
  // Trunk and policy head identical; the value head's weights too; only its
  // bias ([G, 1, 1], the last parameter) differs, and it is 2.5 everywhere.
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    EXPECT_TRUE(torch::equal(p[i], q[i])) << "parameter " << i;
  }
  EXPECT_TRUE(torch::allclose(q.back(), torch::full({3, 1, 1}, 2.5f)));
  EXPECT_FALSE(torch::allclose(p.back(), q.back()));
}

}  // namespace
}  // namespace ad::actors
