// Starts the real ad-actor binary and checks what a user and an operator see:
// a run to completion writes one complete history per stream; SIGTERM in the
// middle of a run flushes what was recorded and exits 0; /metrics serves the
// actor's counters; bad flags exit 2 without writing anything.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "actors/file_sink.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace ad {
namespace {

using ::ad::testing::BinaryPath;
using ::ad::testing::PickFreePort;
using ::ad::testing::Subprocess;
using ::ad::testing::WaitForPort;

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir =
      absl::StrCat(base != nullptr ? base : "/tmp", "/ad_actor_process_test_",
                   getpid(), "_", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(AdActorProcessTest, RunToCompletionWritesCompleteHistories) {
  const std::string dir = TempDir("complete");
  auto actor = Subprocess::Start(
      {BinaryPath("ad-actor"), "--source=tabular_q", "--preset=test",
       "--tasks=darkroom/goal=1,2 darkroom/goal=7,7",
       "--set=tabular_q.streams=3;tabular_q.episodes=40", "--parallel_tasks=2",
       "--metrics_port=-1", "--sink=file:" + dir});
  ASSERT_TRUE(actor.ok()) << actor.status();
  auto status = actor->Wait(absl::Seconds(60));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  auto histories = actors::ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 6u);
  for (const auto& h : *histories) {
    EXPECT_TRUE(h.meta.complete()) << h.meta.history_id();
    EXPECT_EQ(h.meta.episodes(), 40u);
    EXPECT_EQ(h.meta.length(), 800u);
  }
}

TEST(AdActorProcessTest, SigtermFlushesWholeChunksAndExitsZero) {
  const std::string dir = TempDir("sigterm");
  const int metrics_port = PickFreePort();
  // A run that cannot finish (a million episodes per stream), so exactly the
  // first two of the 8 tasks are running when SIGTERM arrives, whatever the
  // machine's speed. (The cpu-demo budget finishes a task in seconds on an
  // idle machine: counting after a fixed sleep saw 2 or 4 tasks.) The stream
  // count is set here, not taken from the preset, so tuning the preset cannot
  // change what this test expects.
  constexpr int kStreams = 16;
  constexpr int kRunningTasks = 2;
  constexpr uint64_t kChunk = 256;  // --chunk_transitions
  auto actor = Subprocess::Start(
      {BinaryPath("ad-actor"), "--source=a3c", "--preset=cpu-demo",
       absl::StrCat("--set=a3c.episodes=1000000,a3c.streams=", kStreams),
       "--family=darkroom", "--split=train", "--max_tasks=8",
       "--parallel_tasks=2", absl::StrCat("--chunk_transitions=", kChunk),
       absl::StrCat("--metrics_port=", metrics_port), "--sink=file:" + dir},
      dir + ".log");
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE(WaitForPort(metrics_port, absl::Seconds(30)).ok());
  // Waits for a condition, not a time: every stream of the two running
  // tasks has sent a whole chunk (its history file exists: a stopped actor
  // keeps whole chunks only), and the episode metrics are exported. The
  // deadline only bounds a broken actor.
  std::string metrics;
  size_t files = 0;
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  while (absl::Now() < deadline &&
         files < static_cast<size_t>(kRunningTasks * kStreams)) {
    auto paths = actors::ListHistoryFiles(dir);
    files = paths.ok() ? paths->size() : 0;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(files, static_cast<size_t>(kRunningTasks * kStreams));
  metrics = testing::ScrapeMetrics(metrics_port);
  EXPECT_GT(
      testing::MetricValue(metrics, "ad_actor_episodes_total{source=\"a3c\"}"),
      0)
      << metrics;
  EXPECT_NE(metrics.find("ad_actor_env_steps_total{source=\"a3c\"}"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("ad_actor_episode_return_mean{source=\"a3c\"}"),
            std::string::npos);
  ASSERT_TRUE(actor->Signal(SIGTERM).ok());
  auto status = actor->Wait(absl::Seconds(30));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);

  auto histories = actors::ReadHistoryDirectory(dir);
  ASSERT_TRUE(histories.ok()) << histories.status();
  // The two running tasks' streams were all recorded and flushed; none is
  // complete; each holds the whole chunks it had sent and not the tail
  // buffered since (a rerun redoes the history, and a short chunk would take
  // the seq of its whole one).
  ASSERT_EQ(histories->size(), static_cast<size_t>(kRunningTasks * kStreams));
  for (const auto& h : *histories) {
    EXPECT_FALSE(h.meta.complete()) << h.meta.history_id();
    EXPECT_GT(h.meta.length(), 0u);
    EXPECT_EQ(h.meta.length() % kChunk, 0u) << h.meta.history_id();
    EXPECT_GT(h.meta.episodes(), 0u);
  }
}

TEST(AdActorProcessTest, BadFlagsExitTwoAndWriteNothing) {
  const std::string dir = TempDir("bad");
  for (const std::string& bad :
       {std::string("--source=nope"), std::string("--split=sideways"),
        std::string("--parallel_tasks=0")}) {
    SCOPED_TRACE(bad);
    auto actor =
        Subprocess::Start({BinaryPath("ad-actor"), bad, "--metrics_port=-1",
                           "--sink=file:" + dir + "/out"},
                          dir + ".log");
    ASSERT_TRUE(actor.ok());
    auto status = actor->Wait(absl::Seconds(30));
    ASSERT_TRUE(status.ok());
    ASSERT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 2);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/out"));
}

}  // namespace
}  // namespace ad
