#include "evaluator/curves.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::evaluator {
namespace {

using ::testing::HasSubstr;

TEST(CurvesTest, MeanAndStdAreOverRowsPerEpisode) {
  Curve curve;
  curve.method = "m";
  curve.returns = {{1, 4, 10}, {3, 8}};
  EXPECT_EQ(curve.Episodes(), 3);
  EXPECT_DOUBLE_EQ(curve.Mean(0), 2);
  EXPECT_DOUBLE_EQ(curve.Std(0), 1);
  EXPECT_DOUBLE_EQ(curve.Mean(1), 6);
  EXPECT_EQ(curve.Count(2), 1);
  EXPECT_DOUBLE_EQ(curve.Mean(2), 10);
  EXPECT_DOUBLE_EQ(curve.WindowMean(1, 2), 4);
  EXPECT_DOUBLE_EQ(curve.WindowMean(2, 99), 8);
  EXPECT_TRUE(std::isnan(curve.WindowMean(5, 9)));
}

TEST(CurvesTest, EpisodesToReachIsTheFirstEpisodeWhoseMeanGetsThere) {
  Curve curve;
  curve.returns = {{0, 5, 9, 7, 10}, {0, 3, 7, 9, 10}};  // means 0 4 8 8 10
  EXPECT_EQ(curve.EpisodesToReach(8), 3);
  EXPECT_EQ(curve.EpisodesToReach(4), 2);
  EXPECT_EQ(curve.EpisodesToReach(0), 1);
  EXPECT_EQ(curve.EpisodesToReach(10.5), 0);
}

TEST(CurvesTest, SummaryComparesEpisodesAdAndOneSourceStreamNeed) {
  Report report;
  Panel panel;
  panel.title = "p";
  panel.optimal = 10;
  Curve ad;
  ad.method = "ad";
  ad.steps_per_episode = 20;
  ad.returns = {{1, 5, 8, 9}};  // 80% of 10 at episode 3
  Curve source;
  source.method = "source (a3c)";
  source.steps_per_episode = 20;
  source.returns = {std::vector<float>(30, 1.0f)};
  source.returns[0][23] = 8;  // first reaches 8 at episode 24
  panel.curves = {ad, source};
  report.panels = {panel};
  const std::string table = SummaryTable(report);
  EXPECT_THAT(table, HasSubstr("AD episode 3 (60 env steps)"));
  EXPECT_THAT(table, HasSubstr("stream episode 24 (480 env steps)"));
  EXPECT_THAT(table, HasSubstr("8.0x fewer episodes"));
  EXPECT_THAT(ReportJson(report), HasSubstr("\"episodes_to_80pct\": 3,"));
  // An AD that never gets there says so, with no ratio.
  report.panels[0].curves[0].returns = {{1, 2, 3, 4}};
  EXPECT_THAT(SummaryTable(report), HasSubstr("AD not within 4 episodes"));
  EXPECT_THAT(SummaryTable(report), ::testing::Not(HasSubstr("fewer")));
  // A source that gets there first: AD needs more, not "0.x fewer".
  report.panels[0].curves[0].returns = {std::vector<float>(30, 1.0f)};
  report.panels[0].curves[0].returns[0][11] = 9;  // episode 12
  report.panels[0].curves[1].returns[0][3] = 8;   // episode 4
  EXPECT_THAT(SummaryTable(report), HasSubstr("AD needs 3.0x more episodes"));
  EXPECT_THAT(SummaryTable(report), ::testing::Not(HasSubstr("fewer")));
}

TEST(CurvesTest, CurveFromRolloutLabelsRowsAndStepsPerEpisode) {
  RolloutResult result;
  result.rows = {{"darkroom/goal=1,2", 0}, {"darkroom/goal=1,2", 1}};
  result.episodes = 2;
  result.returns = {1, 2, 3, 4};
  result.end_steps = {20, 40, 20, 40};
  Curve curve = CurveFromRollout("ad", result);
  ASSERT_EQ(curve.returns.size(), 2u);
  EXPECT_EQ(curve.returns[1][0], 3);
  EXPECT_EQ(curve.row_labels[1], "darkroom/goal=1,2#seed=1");
  EXPECT_DOUBLE_EQ(curve.steps_per_episode, 20);
}

TEST(CurvesTest, WritesCsvAndJson) {
  Report report;
  report.experiment = "incontext";
  report.title = "t \"quoted\"";
  report.env = "darkroom";
  Panel panel;
  panel.title = "held-out, goal, comma";
  panel.optimal = 15;
  Curve curve;
  curve.method = "ad";
  curve.row_labels = {"a", "b"};
  curve.returns = {{0, 10}, {2, 12}};
  curve.steps_per_episode = 20;
  panel.curves.push_back(curve);
  report.panels.push_back(panel);
  const std::string dir =
      std::string(::testing::TempDir()) + "/curves_test_out";
  ASSERT_TRUE(WriteReport(report, dir).ok());
  std::ifstream csv(dir + "/curves.csv");
  std::stringstream text;
  text << csv.rdbuf();
  EXPECT_THAT(text.str(),
              HasSubstr("\"held-out, goal, comma\",ad,2,40,11,1,2"));
  const std::string json = ReportJson(report);
  EXPECT_THAT(json, HasSubstr("\"title\": \"t \\\"quoted\\\"\""));
  EXPECT_THAT(json, HasSubstr("\"mean\": [1, 11]"));
  const std::string table = SummaryTable(report);
  EXPECT_THAT(table, HasSubstr("ad"));
  EXPECT_THAT(table, HasSubstr("%"));
}

}  // namespace
}  // namespace ad::evaluator
