// One bad client must not make the store's data unusable. Each test sends
// the real bytes over gRPC to a real ad-store process (real RocksDB, real
// loopback): values outside the env's space are refused with nothing
// written and sampling goes on; an env's shape stays pinned across a
// restart; a deleted history is never sampled again (a stream open during
// the delete is covered by storage/window_sampler_test.cc, without gRPC's
// buffers in the way); a huge id gets a short
// NOT_FOUND / INVALID_ARGUMENT, not RESOURCE_EXHAUSTED.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <functional>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "services/common/client.h"
#include "services/store/store_client.h"
#include "services/store/store_test_util.h"
#include "tests/testing/subprocess.h"

namespace ad::services::store {
namespace {

using ad::testing::PickFreePort;
using ad::testing::ReadFile;
using ad::testing::Subprocess;
using ::testing::HasSubstr;

// A valid Dark Room history's meta and chunk: obs in the 9x9 grid, five
// actions, episodes of 20 steps.
ad::v1::HistoryMeta DarkroomMeta(const std::string& id) {
  ad::v1::HistoryMeta meta;
  meta.set_history_id(id);
  meta.set_env("darkroom");
  meta.set_task_id("darkroom/goal=3,7");
  meta.set_source("tabular_q");
  meta.set_split("train");
  meta.set_obs_dim(2);
  meta.set_num_actions(5);
  return meta;
}

ad::v1::TransitionBatch DarkroomChunk(uint64_t first, uint64_t n) {
  ad::v1::TransitionBatch t;
  t.set_obs_dim(2);
  std::string dones;
  for (uint64_t i = first; i < first + n; ++i) {
    t.add_obs(static_cast<int32_t>(i % 9));
    t.add_obs(static_cast<int32_t>(i / 9 % 9));
    t.add_actions(static_cast<int32_t>(i % 5));
    t.add_rewards(i % 7 == 0 ? 1.0f : 0.0f);
    dones.push_back(i % 20 == 19 ? 1 : 0);
  }
  t.set_dones(dones);
  return t;
}

class StorePoisoningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = PickFreePort();
    StartStore();
  }

  void StartStore() {
    auto store = ad::testing::StartStore(
        dir_.Sub("db"), port_, dir_.Sub("store.log"),
        {"--chunk_cache_mb=4", "--checkpoint_dir=" + dir_.Sub("checkpoints"),
         "--grace=0s"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_.emplace(std::move(store).value());
    StoreClient::Options options;
    options.address = address();
    options.rpc_timeout = absl::Seconds(10);
    client_ = std::move(StoreClient::Create(options)).value();
  }

  // SIGTERM, wait for a clean exit, start again on the same database.
  void RestartStore() {
    client_.reset();
    ASSERT_TRUE(store_->Signal(SIGTERM).ok());
    auto wait = store_->Wait(absl::Seconds(30));
    ASSERT_TRUE(wait.ok()) << wait.status();
    ASSERT_TRUE(WIFEXITED(*wait) && WEXITSTATUS(*wait) == 0)
        << store_->DescribeExit();
    store_.reset();
    StartStore();
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  // Sends `requests` on one Append stream; the acks received and the status.
  grpc::Status Append(const std::vector<ad::v1::AppendRequest>& requests,
                      int* acks = nullptr) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(10));
    auto stream = client_->stub().Append(&context);
    int received = 0;
    for (const auto& r : requests) {
      ad::v1::AppendAck ack;
      if (!stream->Write(r) || !stream->Read(&ack)) break;
      ++received;
    }
    stream->WritesDone();
    if (acks != nullptr) *acks = received;
    return stream->Finish();
  }

  static ad::v1::AppendRequest First(const ad::v1::HistoryMeta& meta,
                                     ad::v1::TransitionBatch chunk) {
    ad::v1::AppendRequest request;
    request.set_history_id(meta.history_id());
    request.set_seq(0);
    *request.mutable_meta() = meta;
    *request.mutable_chunk() = std::move(chunk);
    return request;
  }

  // A good Dark Room history of `n` transitions, in one chunk.
  void AddDarkroomHistory(const std::string& id, uint64_t n) {
    ad::v1::AppendRequest request =
        First(DarkroomMeta(id), DarkroomChunk(0, n));
    request.set_final(true);
    grpc::Status status = Append({request});
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Samples `batches` batches of Dark Room windows; their history ids.
  absl::StatusOr<std::vector<std::string>> SampleDarkroom(int batches) {
    ad::v1::SampleWindowsRequest request;
    request.mutable_filter()->set_env("darkroom");
    request.set_window_len(20);
    request.set_batch_size(16);
    request.set_num_batches(batches);
    request.set_seed(7);
    auto stream = client_->SampleWindows(request, absl::Seconds(20));
    std::vector<std::string> ids;
    ad::v1::WindowBatch batch;
    while (stream->Next(&batch)) {
      ids.insert(ids.end(), batch.history_ids().begin(),
                 batch.history_ids().end());
    }
    absl::Status status = stream->Finish();
    if (!status.ok()) return status;
    return ids;
  }

  storage::testing::TempDir dir_;
  int port_ = 0;
  std::optional<Subprocess> store_;
  std::unique_ptr<StoreClient> client_;
};

TEST_F(StorePoisoningTest, ValuesOutsideTheSpaceAreRefusedAndSamplingGoesOn) {
  AddDarkroomHistory("good", 200);
  struct Case {
    const char* name;
    const char* want;  // in the error message
    std::function<void(ad::v1::HistoryMeta&, ad::v1::TransitionBatch&)> spoil;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Case> cases = {
      {"nan reward", "rewards[3] is nan",
       [&](auto&, auto& t) { t.set_rewards(3, nan); }},
      {"+inf reward", "rewards[3] is inf",
       [&](auto&, auto& t) { t.set_rewards(3, inf); }},
      {"-inf reward", "rewards[3] is -inf",
       [&](auto&, auto& t) { t.set_rewards(3, -inf); }},
      {"num_actions 0 with action -5", "meta.num_actions must be at least 1",
       [](auto& m, auto& t) {
         m.set_num_actions(0);
         t.set_actions(2, -5);
       }},
      {"action -5", "actions[2] is -5",
       [](auto&, auto& t) { t.set_actions(2, -5); }},
      {"obs -7", "is -7; must lie in [0, 9)",
       [](auto&, auto& t) { t.set_obs(4, -7); }},
      {"obs 1e9", "is 1000000000; must lie in [0, 9)",
       [](auto&, auto& t) { t.set_obs(5, 1000000000); }},
      {"obs_dim 3", "meta.obs_dim is 3 but env 'darkroom' has obs_dim 2",
       [](auto& m, auto& t) {
         m.set_obs_dim(3);
         t.set_obs_dim(3);
         for (int i = 0; i < 40; ++i) t.add_obs(0);
       }},
      {"num_actions 9",
       "meta.num_actions is 9 but env 'darkroom' has "
       "num_actions 5",
       [](auto& m, auto&) { m.set_num_actions(9); }},
  };
  for (const Case& c : cases) {
    ad::v1::HistoryMeta meta = DarkroomMeta("bad");
    ad::v1::TransitionBatch chunk = DarkroomChunk(0, 40);
    c.spoil(meta, chunk);
    grpc::Status status = Append({First(meta, chunk)});
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.want)) << c.name;
    // Nothing was written, and every Dark Room client can still sample.
    EXPECT_EQ(client_->GetHistoryMeta("bad").status().code(),
              absl::StatusCode::kNotFound)
        << c.name;
    auto ids = SampleDarkroom(2);
    ASSERT_TRUE(ids.ok()) << c.name << ": " << ids.status();
    EXPECT_EQ(ids->size(), 32u);
  }
  // A bad later chunk of a good history is refused the same way.
  ad::v1::AppendRequest start =
      First(DarkroomMeta("growing"), DarkroomChunk(0, 40));
  ad::v1::AppendRequest next;
  next.set_history_id("growing");
  next.set_seq(1);
  *next.mutable_chunk() = DarkroomChunk(40, 40);
  next.mutable_chunk()->set_rewards(0, nan);
  int acks = 0;
  EXPECT_EQ(Append({start, next}, &acks).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(acks, 1);
  EXPECT_EQ(client_->GetHistoryMeta("growing")->length(), 40u);
  ASSERT_TRUE(SampleDarkroom(1).ok());
}

TEST_F(StorePoisoningTest, EnvShapePinSurvivesARestart) {
  // An env that is no known family: only its first history sets the shape.
  ad::v1::HistoryMeta first = DarkroomMeta("c1");
  first.set_env("custom");
  first.set_task_id("custom/1");
  first.set_num_actions(7);
  ASSERT_TRUE(Append({First(first, DarkroomChunk(0, 30))}).ok());
  RestartStore();

  ad::v1::HistoryMeta wide = first;
  wide.set_history_id("c2");
  wide.set_obs_dim(3);
  ad::v1::TransitionBatch chunk;
  chunk.set_obs_dim(3);
  for (int i = 0; i < 30; ++i) chunk.add_obs(0);
  for (int i = 0; i < 10; ++i) chunk.add_actions(0);
  for (int i = 0; i < 10; ++i) chunk.add_rewards(0);
  chunk.set_dones(std::string(10, '\0'));
  grpc::Status status = Append({First(wide, chunk)});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("meta.obs_dim is 3 but env 'custom' has obs_dim 2"));

  ad::v1::HistoryMeta more_actions = first;
  more_actions.set_history_id("c3");
  more_actions.set_num_actions(9);
  status = Append({First(more_actions, DarkroomChunk(0, 30))});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("meta.num_actions is 9 but env 'custom' has "
                        "num_actions 7"));

  ad::v1::HistoryMeta same = first;
  same.set_history_id("c4");
  EXPECT_TRUE(Append({First(same, DarkroomChunk(0, 30))}).ok());
  EXPECT_EQ(client_->Stats()->histories(), 2u);
}

TEST_F(StorePoisoningTest, DeletedHistoryIsNeverSampledAgain) {
  AddDarkroomHistory("keep", 100);
  AddDarkroomHistory("drop", 100);
  auto before = SampleDarkroom(8);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_THAT(*before, ::testing::Contains("drop"));

  auto deleted = client_->DeleteHistory("drop", "test@host", "bad data");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->length(), 100u);
  EXPECT_EQ(
      client_->DeleteHistory("drop", "test@host", "again").status().code(),
      absl::StatusCode::kNotFound);

  auto after = SampleDarkroom(20);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, ::testing::Each("keep"));
  const std::string log = ReadFile(dir_.Sub("store.log"));
  EXPECT_THAT(log, HasSubstr("audit: DeleteHistory 'drop' requested_by "
                             "'test@host'"));
  EXPECT_THAT(log, HasSubstr("reason 'bad data'"));

  RestartStore();
  EXPECT_EQ(client_->GetHistoryMeta("drop").status().code(),
            absl::StatusCode::kNotFound);
  after = SampleDarkroom(20);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, ::testing::Each("keep"));
}

TEST_F(StorePoisoningTest, HugeIdsGetShortErrorsWithTheRightCode) {
  AddDarkroomHistory("good", 100);
  const std::string huge(10240, 'x');
  auto expect_short = [](const absl::Status& s, absl::StatusCode code) {
    EXPECT_EQ(s.code(), code) << s.message().substr(0, 200);
    EXPECT_LT(s.message().size(), 400u);
    EXPECT_THAT(std::string(s.message()), HasSubstr("(10240 bytes)"));
  };
  expect_short(client_->GetHistoryMeta(huge).status(),
               absl::StatusCode::kNotFound);
  expect_short(client_->GetHistory(huge, 0, 0).status(),
               absl::StatusCode::kNotFound);
  expect_short(client_->QueryTask("", huge).status(),
               absl::StatusCode::kNotFound);
  expect_short(client_->DeleteHistory(huge, "test", "").status(),
               absl::StatusCode::kNotFound);
  ad::v1::SampleWindowsRequest request;
  request.mutable_filter()->add_task_ids(huge);
  request.set_window_len(10);
  request.set_batch_size(1);
  request.set_num_batches(1);
  auto stream = client_->SampleWindows(request, absl::Seconds(10));
  ad::v1::WindowBatch batch;
  EXPECT_FALSE(stream->Next(&batch));
  expect_short(stream->Finish(), absl::StatusCode::kNotFound);

  // A huge history id on Append, and a mismatching meta.history_id.
  ad::v1::AppendRequest append = First(DarkroomMeta("x"), DarkroomChunk(0, 10));
  append.set_history_id(huge);
  append.mutable_meta()->set_history_id(huge + "y");
  grpc::Status status = Append({append});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(status.error_message().size(), 400u);

  // A 300-character checkpoint name is a bad argument, not an internal error.
  auto checkpoint = client_->Checkpoint(std::string(300, 'c'));
  EXPECT_EQ(checkpoint.status().code(), absl::StatusCode::kInvalidArgument)
      << checkpoint.status();

  // The channel is still good.
  EXPECT_TRUE(client_->Stats().ok());
  EXPECT_EQ(client_->GetHistoryMeta("good")->length(), 100u);
}

}  // namespace
}  // namespace ad::services::store
