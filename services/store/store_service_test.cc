#include "services/store/store_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/obs_bytes.h"
#include "services/common/client.h"
#include "services/store/store_client.h"
#include "services/store/store_test_util.h"

namespace ad::services::store {
namespace {

using ::testing::HasSubstr;
using testing::InProcessStore;
using testing::WireChunk;
using testing::WireMeta;
using AppendStream =
    grpc::ClientReaderWriter<ad::v1::AppendRequest, ad::v1::AppendAck>;

class StoreServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreClient::Options options;
    options.address = server_.address();
    options.rpc_timeout = absl::Seconds(5);
    options.backoff.total = absl::Seconds(2);
    client_ = std::move(StoreClient::Create(options)).value();
  }

  static ad::v1::AppendRequest Request(const std::string& id, uint64_t seq,
                                       uint64_t first, uint64_t n,
                                       int tag = 1) {
    ad::v1::AppendRequest request;
    request.set_history_id(id);
    request.set_seq(seq);
    if (seq == 0) *request.mutable_meta() = WireMeta(id);
    *request.mutable_chunk() = WireChunk(tag, seq, first, n).transitions;
    return request;
  }

  // Sends `requests` on one Append stream; returns the acks and the final
  // status.
  grpc::Status SendAll(const std::vector<ad::v1::AppendRequest>& requests,
                       std::vector<ad::v1::AppendAck>* acks) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(10));
    auto stream = client_->stub().Append(&context);
    for (const auto& r : requests) {
      ad::v1::AppendAck ack;
      if (!stream->Write(r) || !stream->Read(&ack)) break;
      acks->push_back(ack);
    }
    stream->WritesDone();
    return stream->Finish();
  }

  void AddHistory(const std::string& id, int tag, uint64_t length,
                  const std::string& task = "darkroom/goal=1,1",
                  const std::string& split = "train") {
    std::vector<ad::v1::AppendRequest> requests;
    uint64_t seq = 0;
    for (uint64_t at = 0; at < length; at += 50, ++seq) {
      requests.push_back(
          Request(id, seq, at, std::min<uint64_t>(50, length - at), tag));
      if (seq == 0) *requests.back().mutable_meta() = WireMeta(id, task, split);
    }
    requests.back().set_final(true);
    std::vector<ad::v1::AppendAck> acks;
    ASSERT_TRUE(SendAll(requests, &acks).ok());
  }

  uint64_t StoredTransitions() { return client_->Stats()->transitions(); }

  InProcessStore server_;
  std::unique_ptr<StoreClient> client_;
};

TEST_F(StoreServiceTest, AcknowledgesDurableChunksAndDuplicates) {
  std::vector<ad::v1::AppendAck> acks;
  ASSERT_TRUE(SendAll({Request("h1", 0, 0, 30), Request("h1", 1, 30, 30),
                       Request("h1", 1, 30, 30)},
                      &acks)
                  .ok());
  ASSERT_EQ(acks.size(), 3u);
  EXPECT_EQ(acks[1].seq(), 1u);
  EXPECT_EQ(acks[1].length(), 60u);
  EXPECT_FALSE(acks[1].duplicate());
  EXPECT_TRUE(acks[2].duplicate());
  EXPECT_EQ(StoredTransitions(), 60u);
}

TEST_F(StoreServiceTest, BadAppendsEndTheStreamAndWriteNothing) {
  std::vector<ad::v1::AppendAck> acks;
  ASSERT_TRUE(SendAll({Request("h1", 0, 0, 30)}, &acks).ok());

  grpc::Status unknown = SendAll({Request("ghost", 4, 0, 30)}, &acks);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("ghost"));

  grpc::Status gap = SendAll({Request("h1", 3, 30, 30)}, &acks);
  EXPECT_EQ(gap.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(gap.error_message(), HasSubstr("out of order"));

  ad::v1::AppendRequest short_obs = Request("h1", 1, 30, 30);
  short_obs.mutable_chunk()->mutable_obs()->RemoveLast();
  grpc::Status lengths = SendAll({short_obs}, &acks);
  EXPECT_EQ(lengths.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(lengths.error_message(), HasSubstr("obs has 59 values"));

  ad::v1::AppendRequest no_meta = Request("h2", 0, 0, 30);
  no_meta.clear_meta();
  EXPECT_EQ(SendAll({no_meta}, &acks).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Acks before the bad chunk stand; nothing of it was written.
  acks.clear();
  grpc::Status mixed =
      SendAll({Request("h1", 1, 30, 30), Request("h1", 5, 60, 30)}, &acks);
  EXPECT_EQ(mixed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(StoredTransitions(), 60u);
  EXPECT_EQ(client_->Stats()->histories(), 1u);
}

TEST_F(StoreServiceTest, StreamsWindowBatches) {
  AddHistory("a", 0, 200);
  AddHistory("b", 1, 120);
  AddHistory("held", 2, 200, "darkroom/goal=5,5", "test");
  ad::v1::SampleWindowsRequest request;
  request.set_window_len(80);
  request.set_batch_size(32);
  request.set_num_batches(3);
  request.set_seed(11);
  request.set_first_batch(5);
  auto stream = client_->SampleWindows(request, absl::Seconds(10));
  ad::v1::WindowBatch batch;
  int batches = 0;
  while (stream->Next(&batch)) {
    EXPECT_EQ(batch.batch_index(), 5u + batches);
    EXPECT_EQ(batch.batch_size(), 32u);
    EXPECT_EQ(batch.window_len(), 80u);
    EXPECT_EQ(batch.transitions().obs_dim(), 2u);
    EXPECT_EQ(batch.transitions().obs_size(), 32 * 80 * 2);
    EXPECT_EQ(batch.transitions().actions_size(), 32 * 80);
    EXPECT_EQ(batch.transitions().dones().size(), 32u * 80);
    ASSERT_EQ(batch.history_ids_size(), 32);
    for (int w = 0; w < 32; ++w) {
      EXPECT_NE(batch.history_ids(w), "held");
      const int tag = batch.transitions().obs(2 * w * 80);
      const int step = batch.transitions().obs(2 * w * 80 + 1);
      EXPECT_EQ(static_cast<uint64_t>(step), batch.starts(w));
      // Last transition of the window: same history, 79 steps later.
      EXPECT_EQ(batch.transitions().obs(2 * (w * 80 + 79)), tag);
      EXPECT_EQ(batch.transitions().obs(2 * (w * 80 + 79) + 1), step + 79);
    }
    ++batches;
  }
  EXPECT_TRUE(stream->Finish().ok()) << stream->Finish();
  EXPECT_EQ(batches, 3);
}

// A pixel history (watermaze, SpaceSpec.obs_bytes) may be appended with
// obs_u8 or with int32 obs; hostile observation fields are rejected naming
// the field; reads come back as obs_u8 on the wire, equal byte for byte, and
// as int32 through StoreClient::GetHistory.
TEST_F(StoreServiceTest, PixelHistoriesTravelAsBytes) {
  const storage::Transitions frames =
      storage::testing::MakePixelTransitions(/*tag=*/1, 0, 40);
  const uint32_t dim = frames.obs_dim;
  ad::v1::HistoryMeta meta;
  ToProto(storage::testing::MakePixelMeta("px"), &meta);
  auto request = [&](uint64_t seq, bool obs_bytes) {
    storage::Transitions part;
    part.Append(frames.view(), seq * 20, 20);
    ad::v1::AppendRequest r;
    r.set_history_id("px");
    r.set_seq(seq);
    if (seq == 0) *r.mutable_meta() = meta;
    ToProto(part.view(), r.mutable_chunk(), obs_bytes);
    return r;
  };
  std::vector<ad::v1::AppendAck> acks;
  ad::v1::AppendRequest both = request(0, /*obs_bytes=*/true);
  both.mutable_chunk()->add_obs(3);
  grpc::Status status = SendAll({both}, &acks);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("chunk.obs (1 values) and chunk.obs_u8"));
  ad::v1::AppendRequest short_bytes = request(0, /*obs_bytes=*/true);
  short_bytes.mutable_chunk()->mutable_obs_u8()->pop_back();
  status = SendAll({short_bytes}, &acks);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr(absl::StrCat("chunk.obs_u8 has ", 20 * dim - 1,
                                     " bytes; expected ", 20 * dim)));
  ad::v1::AppendRequest too_bright = request(0, /*obs_bytes=*/false);
  too_bright.mutable_chunk()->set_obs(7, 256);
  status = SendAll({too_bright}, &acks);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("must lie in [0, 256)"));
  EXPECT_EQ(client_->Stats()->histories(), 0u);

  // Chunk 0 as bytes, chunk 1 as int32 (a client that predates obs_u8).
  ad::v1::AppendRequest last = request(1, /*obs_bytes=*/false);
  last.set_final(true);
  ASSERT_TRUE(SendAll({request(0, /*obs_bytes=*/true), last}, &acks).ok());
  EXPECT_EQ(StoredTransitions(), 40u);

  std::string want_bytes;
  ObsToBytes(frames.obs, &want_bytes);
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  ad::v1::GetHistoryRequest get;
  get.set_history_id("px");
  ad::v1::GetHistoryResponse raw;
  ASSERT_TRUE(client_->stub().GetHistory(&context, get, &raw).ok());
  EXPECT_EQ(raw.transitions().obs_size(), 0);
  EXPECT_TRUE(raw.transitions().obs_u8() == want_bytes);
  auto widened = client_->GetHistory("px", 0, 0);
  ASSERT_TRUE(widened.ok()) << widened.status();
  EXPECT_TRUE(widened->transitions().obs_u8().empty());
  EXPECT_TRUE(std::equal(frames.obs.begin(), frames.obs.end(),
                         widened->transitions().obs().begin(),
                         widened->transitions().obs().end()));

  ad::v1::SampleWindowsRequest sample;
  sample.mutable_filter()->set_env("watermaze");
  sample.set_window_len(10);
  sample.set_batch_size(4);
  sample.set_num_batches(1);
  auto stream = client_->SampleWindows(sample, absl::Seconds(10));
  ad::v1::WindowBatch batch;
  ASSERT_TRUE(stream->Next(&batch));
  const ad::v1::TransitionBatch& t = batch.transitions();
  EXPECT_EQ(t.obs_size(), 0);
  ASSERT_EQ(t.obs_u8().size(), 4u * 10 * dim);
  for (int w = 0; w < 4; ++w) {
    const size_t window_bytes = size_t{10} * dim;
    EXPECT_TRUE(t.obs_u8().substr(w * window_bytes, window_bytes) ==
                want_bytes.substr(batch.starts(w) * dim, window_bytes))
        << "window " << w;
  }
  while (stream->Next(&batch)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(StoreServiceTest, SampleWindowsExplainsBadRequests) {
  AddHistory("a", 0, 100);
  auto status_of = [&](const ad::v1::SampleWindowsRequest& r) {
    auto stream = client_->SampleWindows(r, absl::Seconds(5));
    ad::v1::WindowBatch batch;
    while (stream->Next(&batch)) {
    }
    return stream->Finish();
  };
  ad::v1::SampleWindowsRequest request;
  request.set_window_len(101);
  request.set_batch_size(4);
  request.set_num_batches(1);
  absl::Status too_long = status_of(request);
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_long.message()), HasSubstr("window_len 101"));

  request.set_window_len(10);
  request.mutable_filter()->add_task_ids("darkroom/goal=8,8");
  EXPECT_EQ(status_of(request).code(), absl::StatusCode::kNotFound);
  request.mutable_filter()->clear_task_ids();

  request.set_batch_size(0);
  EXPECT_EQ(status_of(request).code(), absl::StatusCode::kInvalidArgument);

  // 4096 x 100 transitions exceed the test server's 4 MiB messages.
  request.set_batch_size(4096);
  request.set_window_len(100);
  absl::Status too_big = status_of(request);
  EXPECT_EQ(too_big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_big.message()), HasSubstr("limit"));

  // Waiting for data that never comes ends at the RPC deadline.
  request.set_batch_size(4);
  request.set_window_len(10);
  request.set_min_transitions(1000);
  auto stream = client_->SampleWindows(request, absl::Milliseconds(300));
  ad::v1::WindowBatch batch;
  EXPECT_FALSE(stream->Next(&batch));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(StoreServiceTest, QueriesTasksAndHistories) {
  AddHistory("a", 0, 120);
  AddHistory("b", 1, 60, "darkroom/goal=2,2");
  auto tasks = client_->ListTasks("", "");
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->tasks_size(), 2);
  EXPECT_EQ(tasks->tasks(0).transitions(), 120u);

  auto histories =
      client_->QueryTask(storage::testing::kSyntheticEnv, "darkroom/goal=1,1");
  ASSERT_TRUE(histories.ok()) << histories.status();
  ASSERT_EQ(histories->size(), 1u);
  EXPECT_EQ((*histories)[0].history_id(), "a");
  EXPECT_EQ((*histories)[0].length(), 120u);
  EXPECT_EQ((*histories)[0].episodes(), 12u);
  EXPECT_EQ((*histories)[0].episode_returns_size(), 12);
  EXPECT_TRUE((*histories)[0].complete());
  EXPECT_EQ(client_->QueryTask("", "darkroom/goal=7,7").status().code(),
            absl::StatusCode::kNotFound);

  auto range = client_->GetHistory("a", 45, 55);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->transitions().actions_size(), 10);
  EXPECT_EQ(range->transitions().obs(1), 45);
  EXPECT_EQ(range->meta().length(), 120u);
  EXPECT_EQ(client_->GetHistory("a", 0, 0)->transitions().actions_size(), 120);
  EXPECT_EQ(client_->GetHistory("a", 100, 130).status().code(),
            absl::StatusCode::kOutOfRange);
  auto meta = client_->GetHistoryMeta("a");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->episode_returns_size(), 12);
  EXPECT_EQ(client_->GetHistory("zz", 0, 0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreServiceTest, CheckpointIsAConsistentStore) {
  AddHistory("a", 0, 120);
  auto directory = client_->Checkpoint("backups/one");
  ASSERT_TRUE(directory.ok()) << directory.status();
  EXPECT_THAT(*directory, HasSubstr("backups/one"));
  EXPECT_EQ(client_->Checkpoint("backups/one").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client_->Checkpoint("../escape").status().code(),
            absl::StatusCode::kInvalidArgument);
  storage::TrajectoryStore::Options options;
  options.path = *directory;
  options.block_cache_bytes = 16 << 20;
  options.write_buffer_bytes = 4 << 20;
  auto copy = storage::TrajectoryStore::Open(options);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->GetStats().transitions, 120u);
  EXPECT_EQ((*copy)->ReadRange("a", 0, 120)->obs,
            storage::testing::MakeTransitions(0, 0, 120).obs);
}

}  // namespace
}  // namespace ad::services::store
