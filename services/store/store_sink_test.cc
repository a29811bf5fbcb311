#include "services/store/store_sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "services/store/store_client.h"
#include "services/store/store_test_util.h"

namespace ad::services::store {
namespace {

using ::testing::HasSubstr;
using testing::InProcessStore;
using testing::WireChunk;
using testing::WireMeta;

std::unique_ptr<StoreSink> MakeSink(const std::string& address) {
  StoreSink::Options options;
  options.address = address;
  options.backoff.initial = absl::Milliseconds(10);
  options.backoff.max_backoff = absl::Milliseconds(100);
  options.ack_timeout = absl::Seconds(5);
  auto sink = StoreSink::Create(options);
  CHECK(sink.ok()) << sink.status();
  return std::move(sink).value();
}

// Appends chunks [from_seq, to_seq) of 20 transitions of history `id`.
void AppendChunks(StoreSink& sink, const std::string& id, int tag,
                  uint64_t from_seq, uint64_t to_seq, bool final) {
  const ad::v1::HistoryMeta meta = WireMeta(id);
  for (uint64_t seq = from_seq; seq < to_seq; ++seq) {
    ASSERT_TRUE(sink.Append(meta, WireChunk(tag, seq, seq * 20, 20),
                            final && seq + 1 == to_seq)
                    .ok());
  }
}

TEST(StoreSinkTest, PipelinesManyHistoriesFromManyThreads) {
  InProcessStore server;
  auto sink = MakeSink(server.address());
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&sink, w] {
      for (int h = 0; h < 3; ++h) {
        AppendChunks(*sink, absl::StrCat("w", w, "h", h), w * 10 + h, 0, 25,
                     /*final=*/true);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(sink->Flush(absl::Seconds(20)).ok());
  EXPECT_EQ(sink->counters().acked, 4u * 3 * 25);
  const auto stats = server.store().GetStats();
  EXPECT_EQ(stats.histories, 12u);
  EXPECT_EQ(stats.complete_histories, 12u);
  EXPECT_EQ(stats.transitions, 12u * 25 * 20);
  EXPECT_EQ(server.store().ReadRange("w2h1", 0, 500)->obs,
            storage::testing::MakeTransitions(21, 0, 500).obs);
}

TEST(StoreSinkTest, RejectedChunkFailsOnlyItsHistory) {
  InProcessStore server;
  auto sink = MakeSink(server.address());
  AppendChunks(*sink, "good", 1, 0, 3, false);
  AppendChunks(*sink, "bad", 2, 0, 1, false);
  AppendChunks(*sink, "bad", 2, 2, 4, false);  // skips seq 1
  AppendChunks(*sink, "good", 1, 3, 6, true);
  absl::Status flushed = sink->Flush(absl::Seconds(10));
  EXPECT_EQ(flushed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(flushed.message()), HasSubstr("'bad' seq 2"));
  EXPECT_TRUE(sink->Flush(absl::Seconds(1)).ok());  // reported once
  EXPECT_EQ(
      sink->Append(WireMeta("bad"), WireChunk(2, 1, 20, 20), false).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(server.store().GetHistory("good")->length, 120u);
  EXPECT_TRUE(server.store().GetHistory("good")->complete);
  EXPECT_EQ(server.store().GetHistory("bad")->length, 20u);
}

TEST(StoreSinkTest, ChecksArrayLengthsLocally) {
  InProcessStore server;
  auto sink = MakeSink(server.address());
  ad::actors::TransitionChunk chunk = WireChunk(1, 0, 0, 20);
  chunk.transitions.mutable_rewards()->RemoveLast();
  EXPECT_EQ(sink->Append(WireMeta("h"), chunk, false).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(StoreSinkTest, ResendsUnacknowledgedChunksAfterRestart) {
  auto server = std::make_unique<InProcessStore>();
  auto sink = MakeSink(server->address());
  AppendChunks(*sink, "h", 1, 0, 10, false);
  ASSERT_TRUE(sink->Flush(absl::Seconds(10)).ok());
  const int port = server->port();
  server->Stop();
  // Appends while the store is down queue up.
  AppendChunks(*sink, "h", 1, 10, 20, true);
  EXPECT_EQ(sink->Flush(absl::Milliseconds(200)).code(),
            absl::StatusCode::kDeadlineExceeded);
  server->Serve(port);
  ASSERT_TRUE(sink->Flush(absl::Seconds(20)).ok());
  EXPECT_GE(sink->counters().reconnects, 1u);
  auto record = server->store().GetHistory("h");
  EXPECT_EQ(record->length, 400u);
  EXPECT_TRUE(record->complete);
}

TEST(StoreSinkTest, FlushTimesOutWithoutAStore) {
  InProcessStore server;
  const std::string address = server.address();
  server.Stop();
  auto sink = MakeSink(address);
  AppendChunks(*sink, "h", 1, 0, 2, false);
  absl::Status status = sink->Flush(absl::Milliseconds(300));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(status.message()), HasSubstr("last stream error"));
}

}  // namespace
}  // namespace ad::services::store
