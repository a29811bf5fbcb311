// Kills ad-store with SIGKILL while four actor-like clients append through
// StoreSink, restarts it on the same database, and checks that every
// acknowledged transition survived, that each chunk is stored exactly once,
// and that the clients finished their histories by resending what was not
// acknowledged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/store/store_client.h"
#include "services/store/store_sink.h"
#include "services/store/store_test_util.h"
#include "tests/testing/subprocess.h"

namespace ad::services::store {
namespace {

using ad::testing::PickFreePort;
using ad::testing::StartStore;
using ad::testing::Subprocess;

constexpr int kClients = 4;
constexpr int kHistoriesPerClient = 3;
constexpr uint64_t kChunks = 60;
constexpr uint64_t kChunkLen = 50;

class StoreProcess {
 public:
  StoreProcess(std::string db, int port, std::string log)
      : db_(std::move(db)), port_(port), log_(std::move(log)) {}

  void Start() {
    auto process = StartStore(db_, port_, log_, {"--chunk_cache_mb=4"});
    ASSERT_TRUE(process.ok()) << process.status();
    process_.emplace(std::move(process).value());
  }
  void Kill() { process_->Kill(); }
  Subprocess& process() { return *process_; }

 private:
  std::string db_;
  int port_;
  std::string log_;
  std::optional<Subprocess> process_;
};

std::unique_ptr<StoreClient> ClientFor(const std::string& address) {
  StoreClient::Options options;
  options.address = address;
  options.rpc_timeout = absl::Seconds(10);
  return std::move(StoreClient::Create(options)).value();
}

std::string HistoryName(int client, int h) {
  return absl::StrCat("client", client, "/history", h);
}

TEST(StoreDurabilityTest, AcknowledgedChunksSurviveSigkillExactlyOnce) {
  storage::testing::TempDir dir;
  const int port = PickFreePort();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  StoreProcess store(dir.Sub("db"), port, dir.Sub("store.log"));
  store.Start();

  absl::Mutex mu;
  std::map<std::string, uint64_t> acked;  // history -> acknowledged length
  std::vector<std::thread> clients;
  std::vector<absl::Status> results(kClients);
  uint64_t duplicates = 0, reconnects = 0;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      StoreSink::Options options;
      options.address = address;
      options.backoff.initial = absl::Milliseconds(20);
      options.backoff.max_backoff = absl::Milliseconds(200);
      options.ack_timeout = absl::Seconds(5);
      options.on_ack = [&mu, &acked](const ad::v1::AppendAck& ack) {
        absl::MutexLock lock(&mu);
        uint64_t& length = acked[ack.history_id()];
        length = std::max(length, ack.length());
      };
      auto sink = std::move(StoreSink::Create(options)).value();
      for (uint64_t seq = 0; seq < kChunks; ++seq) {
        for (int h = 0; h < kHistoriesPerClient; ++h) {
          const std::string id = HistoryName(c, h);
          absl::Status s = sink->Append(
              testing::WireMeta(id),
              testing::WireChunk(c * 10 + h, seq, seq * kChunkLen, kChunkLen),
              /*final=*/seq + 1 == kChunks);
          if (!s.ok()) {
            results[c] = s;
            return;
          }
        }
        absl::SleepFor(absl::Milliseconds(3));  // an actor's pace
      }
      results[c] = sink->Flush(absl::Seconds(60));
      absl::MutexLock lock(&mu);
      duplicates += sink->counters().duplicates;
      reconnects += sink->counters().reconnects;
    });
  }

  auto client = ClientFor(address);
  for (int round = 0; round < 3; ++round) {
    absl::SleepFor(absl::Milliseconds(120));
    std::map<std::string, uint64_t> before_kill;
    {
      absl::MutexLock lock(&mu);
      before_kill = acked;
    }
    store.Kill();  // SIGKILL, no chance to flush anything
    absl::SleepFor(absl::Milliseconds(50));
    store.Start();
    // Everything acknowledged before the kill is there after the restart.
    for (const auto& [id, length] : before_kill) {
      auto history = client->GetHistory(id, 0, 1);
      ASSERT_TRUE(history.ok()) << history.status();
      EXPECT_GE(history->meta().length(), length) << id << " round " << round;
    }
  }

  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_TRUE(results[c].ok()) << "client " << c << ": " << results[c];
  }
  LOG(INFO) << "duplicates acknowledged: " << duplicates
            << ", reconnects: " << reconnects;
  EXPECT_GE(reconnects, 3u);

  // Each history holds every chunk exactly once, in order.
  const uint64_t length = kChunks * kChunkLen;
  for (int c = 0; c < kClients; ++c) {
    for (int h = 0; h < kHistoriesPerClient; ++h) {
      const std::string id = HistoryName(c, h);
      auto history = client->GetHistory(id, 0, 0);
      ASSERT_TRUE(history.ok()) << history.status();
      EXPECT_EQ(history->meta().length(), length) << id;
      EXPECT_TRUE(history->meta().complete()) << id;
      EXPECT_EQ(history->meta().episodes(), length / 10) << id;
      const storage::Transitions expected =
          storage::testing::MakeTransitions(c * 10 + h, 0, length);
      ASSERT_EQ(history->transitions().obs_size(),
                static_cast<int>(expected.obs.size()));
      EXPECT_TRUE(std::equal(expected.obs.begin(), expected.obs.end(),
                             history->transitions().obs().begin()))
          << id;
    }
  }
  auto stats = client->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->transitions(),
            uint64_t{kClients} * kHistoriesPerClient * length);
  EXPECT_EQ(stats->complete_histories(),
            uint64_t{kClients} * kHistoriesPerClient);
}

TEST(StoreDurabilityTest, CheckpointServesAsANewStoreAfterCleanShutdown) {
  storage::testing::TempDir dir;
  const int port = PickFreePort();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  StoreProcess store(dir.Sub("db"), port, dir.Sub("store.log"));
  store.Start();
  {
    StoreSink::Options options;
    options.address = address;
    auto sink = std::move(StoreSink::Create(options)).value();
    for (uint64_t seq = 0; seq < 10; ++seq) {
      ASSERT_TRUE(sink->Append(testing::WireMeta("h"),
                               testing::WireChunk(7, seq, seq * 30, 30),
                               seq == 9)
                      .ok());
    }
    ASSERT_TRUE(sink->Flush(absl::Seconds(10)).ok());
  }
  auto client = ClientFor(address);
  auto checkpoint = client->Checkpoint("snap");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();

  // SIGTERM: a clean shutdown with exit status 0.
  ASSERT_TRUE(store.process().Signal(SIGTERM).ok());
  auto wait = store.process().Wait(absl::Seconds(20));
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_TRUE(WIFEXITED(*wait) && WEXITSTATUS(*wait) == 0) << *wait;

  const int port2 = PickFreePort();
  StoreProcess restored(*checkpoint, port2, dir.Sub("restored.log"));
  restored.Start();
  auto client2 = ClientFor(absl::StrCat("127.0.0.1:", port2));
  auto history = client2->GetHistory("h", 0, 0);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->meta().length(), 300u);
  EXPECT_TRUE(history->meta().complete());
}

}  // namespace
}  // namespace ad::services::store
