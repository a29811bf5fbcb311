#include "evaluator/history_source.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::evaluator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kObsDim = 2;

// A history of `episodes` episodes of `episode_len` steps (plus `tail`
// steps of an unfinished episode). Transition i has obs (base + i,
// base + 100 + i), action i % 5, and reward k on the last step of episode k
// (so episode k returns k) and 0.5 on every tail step.
struct Fixture {
  ad::v1::HistoryMeta meta;
  ad::v1::TransitionBatch batch;
};

Fixture MakeHistory(const std::string& id, const std::string& task,
                    const std::string& source, int base, int episodes,
                    int episode_len, int tail = 0) {
  Fixture f;
  f.meta.set_history_id(id);
  f.meta.set_env("darkroom");
  f.meta.set_task_id(task);
  f.meta.set_source(source);
  f.batch.set_obs_dim(kObsDim);
  std::string dones;
  const int n = episodes * episode_len + tail;
  for (int i = 0; i < n; ++i) {
    f.batch.add_obs(base + i);
    f.batch.add_obs(base + 100 + i);
    f.batch.add_actions(i % 5);
    const bool last =
        i < episodes * episode_len && i % episode_len == episode_len - 1;
    const bool in_tail = i >= episodes * episode_len;
    f.batch.add_rewards(last ? static_cast<float>(i / episode_len)
                             : (in_tail ? 0.5f : 0.0f));
    dones.push_back(last ? 1 : 0);
  }
  f.batch.set_dones(dones);
  return f;
}

absl::Status Add(InMemoryHistorySource& source, Fixture f) {
  return source.Add(std::move(f.meta), std::move(f.batch));
}

TEST(InMemoryHistorySourceTest, AddComputesEpisodeReturnsOfCompleteEpisodes) {
  InMemoryHistorySource source;
  ASSERT_TRUE(Add(source, MakeHistory("h", "darkroom/goal=1,2", "q", 0,
                                      /*episodes=*/3, /*episode_len=*/4,
                                      /*tail=*/2))
                  .ok());
  auto metas = source.Histories("darkroom", "darkroom/goal=1,2");
  ASSERT_TRUE(metas.ok()) << metas.status();
  ASSERT_EQ(metas->size(), 1u);
  const ad::v1::HistoryMeta& meta = (*metas)[0];
  // Episodes 0, 1, 2 return 0, 1, 2; the unfinished tail is no episode.
  EXPECT_THAT(meta.episode_returns(), ElementsAre(0.0f, 1.0f, 2.0f));
  EXPECT_EQ(meta.episodes(), 3u);
  EXPECT_EQ(meta.length(), 14u);
}

TEST(InMemoryHistorySourceTest, KeepsGivenReturnsAndFiltersByEnvAndTask) {
  InMemoryHistorySource source;
  Fixture f = MakeHistory("a", "darkroom/goal=1,2", "q", 0, 2, 4);
  f.meta.add_episode_returns(7.0f);
  ASSERT_TRUE(Add(source, std::move(f)).ok());
  ASSERT_TRUE(
      Add(source, MakeHistory("b", "darkroom/goal=3,3", "q", 0, 2, 4)).ok());
  Fixture other_env = MakeHistory("c", "darkroom/goal=1,2", "q", 0, 2, 4);
  other_env.meta.set_env("key_to_door");
  ASSERT_TRUE(Add(source, std::move(other_env)).ok());

  auto metas = source.Histories("darkroom", "darkroom/goal=1,2");
  ASSERT_TRUE(metas.ok());
  ASSERT_EQ(metas->size(), 1u);
  EXPECT_EQ((*metas)[0].history_id(), "a");
  EXPECT_THAT((*metas)[0].episode_returns(), ElementsAre(7.0f));
  auto none = source.Histories("darkroom", "darkroom/goal=0,0");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(InMemoryHistorySourceTest, AddRejectsArraysThatDisagree) {
  InMemoryHistorySource source;
  Fixture short_obs = MakeHistory("a", "t/x", "q", 0, 1, 4);
  short_obs.batch.mutable_obs()->RemoveLast();
  absl::Status s = Add(source, std::move(short_obs));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("obs"));

  Fixture short_dones = MakeHistory("b", "t/x", "q", 0, 1, 4);
  short_dones.batch.set_dones("\1");
  s = Add(source, std::move(short_dones));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("dones"));

  Fixture no_id = MakeHistory("", "t/x", "q", 0, 1, 4);
  s = Add(source, std::move(no_id));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("history_id"));
}

TEST(InMemoryHistorySourceTest, TransitionsReturnsTheAskedRange) {
  InMemoryHistorySource source;
  ASSERT_TRUE(Add(source, MakeHistory("h", "t/x", "q", 10, 2, 4)).ok());
  auto part = source.Transitions("h", 2, 5);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->obs_dim(), static_cast<uint32_t>(kObsDim));
  EXPECT_THAT(part->obs(), ElementsAre(12, 112, 13, 113, 14, 114));
  EXPECT_THAT(part->actions(), ElementsAre(2, 3, 4));
  EXPECT_THAT(part->rewards(), ElementsAre(0.0f, 0.0f, 0.0f));
  EXPECT_EQ(part->dones(), std::string("\0\1\0", 3));

  // end = 0, or past the end: to the end.
  for (uint64_t end : {uint64_t{0}, uint64_t{100}}) {
    auto rest = source.Transitions("h", 6, end);
    ASSERT_TRUE(rest.ok());
    EXPECT_THAT(rest->actions(), ElementsAre(1, 2));
    EXPECT_THAT(rest->rewards(), ElementsAre(0.0f, 1.0f));
  }
  EXPECT_EQ(source.Transitions("h", 5, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(source.Transitions("nope", 0, 0).status().code(),
            absl::StatusCode::kNotFound);
}

// The obs of transitions [begin, end) of a MakeHistory history at `base`.
std::vector<int32_t> ObsOf(int base, int begin, int end) {
  std::vector<int32_t> obs;
  for (int i = begin; i < end; ++i) {
    obs.push_back(base + i);
    obs.push_back(base + 100 + i);
  }
  return obs;
}

TEST(PromptFromHistoriesTest, CutsAtTheEpisodeOfTheCompetenceLevel) {
  InMemoryHistorySource source;
  // 5 episodes of 4 steps: episode ends at 4, 8, 12, 16, 20.
  ASSERT_TRUE(Add(source, MakeHistory("h", "t/x", "q", 0, 5, 4)).ok());
  const std::vector<RowSpec> rows = {{"t/x", 0}};
  struct Case {
    double competence;
    int length;
    int want_end;        // the prompt's last transition + 1
    double want_return;  // of the episode ending there
  };
  // Competence c picks episode round(c * 4); a prompt longer than the
  // history up to that episode moves to the first episode that fills it.
  for (const Case& c :
       {Case{1.0, 8, 20, 4.0}, Case{0.5, 6, 12, 2.0}, Case{0.0, 8, 8, 1.0},
        Case{0.25, 3, 8, 1.0}, Case{0.0, 4, 4, 0.0}}) {
    SCOPED_TRACE(testing::Message()
                 << "competence " << c.competence << " length " << c.length);
    double mean_return = -1;
    auto prompt = PromptFromHistories(source, "darkroom", rows, "",
                                      c.competence, c.length, &mean_return);
    ASSERT_TRUE(prompt.ok()) << prompt.status();
    EXPECT_EQ(prompt->length, c.length);
    EXPECT_EQ(prompt->obs, ObsOf(0, c.want_end - c.length, c.want_end));
    ASSERT_EQ(prompt->actions.size(), static_cast<size_t>(c.length));
    ASSERT_EQ(prompt->rewards.size(), static_cast<size_t>(c.length));
    ASSERT_EQ(prompt->dones.size(), static_cast<size_t>(c.length));
    for (int k = 0; k < c.length; ++k) {
      const int i = c.want_end - c.length + k;
      EXPECT_EQ(prompt->actions[k], i % 5);
      EXPECT_EQ(prompt->dones[k], i % 4 == 3 ? 1 : 0);
      EXPECT_EQ(prompt->rewards[k],
                i % 4 == 3 ? static_cast<float>(i / 4) : 0.0f);
    }
    EXPECT_EQ(prompt->dones.back(), 1);  // ends at an episode boundary
    EXPECT_DOUBLE_EQ(mean_return, c.want_return);
  }
}

TEST(PromptFromHistoriesTest, RowsOfATaskTakeHistoriesBySeedAndSourceFilters) {
  InMemoryHistorySource source;
  ASSERT_TRUE(Add(source, MakeHistory("a0", "t/a", "q", 0, 3, 4)).ok());
  ASSERT_TRUE(Add(source, MakeHistory("a1", "t/a", "q", 1000, 3, 4)).ok());
  ASSERT_TRUE(Add(source, MakeHistory("a2", "t/a", "other", 5000, 3, 4)).ok());
  ASSERT_TRUE(Add(source, MakeHistory("b0", "t/b", "q", 2000, 3, 4)).ok());
  const std::vector<RowSpec> rows = {
      {"t/a", 0}, {"t/a", 1}, {"t/a", 2}, {"t/b", 7}};
  double mean_return = 0;
  auto prompt =
      PromptFromHistories(source, "darkroom", rows, "q",
                          /*competence=*/1.0, /*length=*/4, &mean_return);
  ASSERT_TRUE(prompt.ok()) << prompt.status();
  // Rows are laid out one after another; the last episode is [8, 12).
  std::vector<int32_t> want;
  for (int base : {0, 1000, 0, 2000}) {
    const std::vector<int32_t> obs = ObsOf(base, 8, 12);
    want.insert(want.end(), obs.begin(), obs.end());
  }
  EXPECT_EQ(prompt->obs, want);
  EXPECT_DOUBLE_EQ(mean_return, 2.0);

  // Only the "other" history is left for t/a when the source is "other",
  // and t/b has none.
  auto missing = PromptFromHistories(source, "darkroom", rows, "other", 1.0, 4,
                                     &mean_return);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("t/b"));
}

TEST(PromptFromHistoriesTest, RejectsBadArgumentsAndTooShortHistories) {
  InMemoryHistorySource source;
  // 2 complete episodes (8 transitions) and an unfinished one of 3.
  ASSERT_TRUE(Add(source, MakeHistory("h", "t/x", "q", 0, 2, 4, 3)).ok());
  const std::vector<RowSpec> rows = {{"t/x", 0}};
  EXPECT_EQ(PromptFromHistories(source, "darkroom", rows, "", 1.5, 4, nullptr)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PromptFromHistories(source, "darkroom", rows, "", 0.5, 0, nullptr)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // 9 transitions do not fit in the 8 of complete episodes.
  auto too_long =
      PromptFromHistories(source, "darkroom", rows, "", 1.0, 9, nullptr);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(too_long.status().message(), HasSubstr("fewer than"));
  EXPECT_TRUE(
      PromptFromHistories(source, "darkroom", rows, "", 1.0, 8, nullptr).ok());
}

TEST(SourceCurveTest, OneRowPerHistoryOfTheSourceTruncated) {
  InMemoryHistorySource source;
  ASSERT_TRUE(Add(source, MakeHistory("a", "t/a", "q", 0, 5, 4)).ok());
  ASSERT_TRUE(Add(source, MakeHistory("b", "t/b", "q", 0, 3, 4)).ok());
  ASSERT_TRUE(Add(source, MakeHistory("c", "t/b", "other", 0, 3, 4)).ok());
  SourceCurveOptions options;
  options.source = "q";
  options.max_episodes = 4;
  const std::vector<std::string> tasks = {"t/a", "t/b"};
  auto curve = SourceCurve(source, "darkroom", tasks, options);
  ASSERT_TRUE(curve.ok()) << curve.status();
  EXPECT_EQ(curve->method, "source (q)");
  EXPECT_THAT(curve->row_labels, ElementsAre("a", "b"));
  ASSERT_EQ(curve->returns.size(), 2u);
  EXPECT_THAT(curve->returns[0], ElementsAre(0.0f, 1.0f, 2.0f, 3.0f));
  EXPECT_THAT(curve->returns[1], ElementsAre(0.0f, 1.0f, 2.0f));

  options.source = "a3c";
  EXPECT_EQ(SourceCurve(source, "darkroom", tasks, options).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ad::evaluator
