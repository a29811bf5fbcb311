#include "actors/task_runner.h"

#include <atomic>

#include "actors/file_sink.h"
#include "actors/source_test_util.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

using ::ad::actors::testing::TempDir;

TaskRunOptions Options(const std::string& source, const std::string& task) {
  TaskRunOptions o;
  o.source = source;
  o.task_id = task;
  o.num_streams = 3;
  o.episodes_per_stream = 50;
  o.seed = 2;
  o.chunk_transitions = 100;
  return o;
}

TEST(TaskRunnerTest, RecordsOneCompleteHistoryPerStream) {
  const std::string dir = TempDir("runner");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  auto result = RunTask(Options("random", "darkroom/goal=1,2"), SourceParams(),
                        LocalEnvFactory(), sink->get(), nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->env_steps, 3u * 50 * 20);
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(10)).ok());
  auto histories = ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok());
  ASSERT_EQ(histories->size(), 3u);
  for (const RecordedHistory& h : *histories) {
    EXPECT_TRUE(h.meta.complete());
    EXPECT_EQ(h.meta.length(), 1000u);
    EXPECT_EQ(h.meta.episodes(), 50u);
    EXPECT_EQ(h.meta.source(), "random");
    EXPECT_EQ(h.meta.split(), "train");
    EXPECT_EQ(h.meta.seed(), 2u);
    EXPECT_EQ(h.meta.history_id(),
              MakeHistoryId("random", "darkroom/goal=1,2", 2, h.meta.stream()));
  }
}

// Stops the run once `episodes` episodes have ended, mid-chunk.
class StopAfterEpisodes : public RunObserver {
 public:
  StopAfterEpisodes(std::atomic<bool>* stop, int episodes)
      : stop_(stop), left_(episodes) {}
  void OnSteps(const std::string&, uint64_t) override {}
  void OnEpisodes(const std::string&, absl::Span<const float> r) override {
    left_ -= static_cast<int>(r.size());
    if (left_ <= 0) stop_->store(true);
  }

 private:
  std::atomic<bool>* stop_;
  int left_;
};

TEST(TaskRunnerTest, StopKeepsOnlyWholeChunksSoARerunCanRedoTheHistory) {
  const std::string dir = TempDir("stop");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  // 3 streams of 20-step episodes, chunks of 100 transitions: stopped when
  // 18 episodes have ended, each stream is at step 120, one whole chunk
  // sent and 20 transitions buffered.
  std::atomic<bool> stop{false};
  StopAfterEpisodes observer(&stop, 18);
  auto result = RunTask(Options("random", "darkroom/goal=1,2"), SourceParams(),
                        LocalEnvFactory(), sink->get(), &stop, &observer);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(10)).ok());
  auto histories = ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 3u);
  for (const RecordedHistory& h : *histories) {
    EXPECT_FALSE(h.meta.complete());
    // The buffered tail was not sent as a short chunk: a rerun's seq 1
    // (transitions 100..199) must meet no 20-transition seq 1 in the store.
    EXPECT_EQ(h.meta.length(), 100u) << h.meta.history_id();
  }
}

TEST(TaskRunnerTest, HistoryIdsStayInTheStoreAlphabet) {
  EXPECT_EQ(MakeHistoryId("expert", "key_to_door/key=1,2;door=7,3", 4, 1),
            "expert:key_to_door/key=1,2_door=7,3:seed=4:stream=1");
}

TEST(TaskRunnerTest, UnknownSourceTaskOrParameterIsInvalid) {
  const std::string dir = TempDir("bad");
  auto sink = FileSink::Create(FileSink::Options{dir});
  ASSERT_TRUE(sink.ok());
  auto run = [&](const TaskRunOptions& o, const SourceParams& p) {
    return RunTask(o, p, LocalEnvFactory(), sink->get(), nullptr, nullptr)
        .status();
  };
  EXPECT_EQ(run(Options("nope", "darkroom/goal=1,2"), SourceParams()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(
      run(Options("random", "darkroom/goal=9,9"), SourceParams()).ok());
  SourceParams typo;
  ASSERT_TRUE(typo.Override("tabular_q.learning_rat=0.1").ok());
  EXPECT_EQ(run(Options("tabular_q", "darkroom/goal=1,2"), typo).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ad::actors
