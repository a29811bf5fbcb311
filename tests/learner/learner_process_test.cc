// ad-learner against the real ad-store: the window source only ever gets
// train-split windows; the learner binary trains, checkpoints, resumes
// from its checkpoint after a restart, serves LearnerService (Status,
// ListCheckpoints, GetCheckpoint bytes that load as a model), exports
// TorchScript, and shuts down cleanly on SIGTERM.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ad/v1/learner.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "learner/checkpoint.h"
#include "learner/synthetic_darkroom.h"
#include "services/common/client.h"
#include "services/learner/history_upload.h"
#include "services/learner/store_window_source.h"
#include "tests/testing/subprocess.h"

namespace ad::services::learner {
namespace {

namespace fs = std::filesystem;
using ad::testing::BinaryPath;
using ad::testing::PickFreePort;
using ad::testing::ReadFile;
using ad::testing::StartStore;
using ad::testing::Subprocess;
using ad::testing::WaitForPort;

// One ad-store with train and held-out Dark Room histories, shared by the
// tests of this file.
class LearnerProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string((fs::path(::testing::TempDir()) /
                             absl::StrCat("learner-it-", ::getpid()))
                                .string());
    fs::remove_all(*root_);
    fs::create_directories(*root_);
    store_port_ = PickFreePort();
    auto store = StartStore(*root_ + "/db", store_port_, *root_ + "/store.log",
                            {"--chunk_cache_mb=4"}, absl::Seconds(30));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = new Subprocess(*std::move(store));

    std::vector<ad::learner::DarkRoomGoal> train, test;
    ad::learner::DarkRoomGoalSplit(/*test_every=*/4, /*test_offset=*/0, train,
                                   test);
    ad::learner::SyntheticDarkRoomOptions o;
    o.episodes = 20;
    o.goals = train;
    o.split = "train";
    std::vector<ad::learner::History> histories =
        ad::learner::SyntheticDarkRoomHistories(o);
    o.goals = test;
    o.split = "test";
    for (auto& h : ad::learner::SyntheticDarkRoomHistories(o)) {
      histories.push_back(std::move(h));
    }
    store::StoreSink::Options sink_options;
    sink_options.address = StoreAddress();
    auto sink = store::StoreSink::Create(sink_options);
    ASSERT_TRUE(sink.ok()) << sink.status();
    absl::Status uploaded = UploadHistories(histories, {}, **sink);
    ASSERT_TRUE(uploaded.ok()) << uploaded;
  }

  static void TearDownTestSuite() {
    delete store_;
    store_ = nullptr;
  }

  static std::string StoreAddress() {
    return absl::StrCat("127.0.0.1:", store_port_);
  }

  static std::vector<std::string> LearnerArgs(const std::string& ckpt_dir,
                                              int port, int64_t steps) {
    return {BinaryPath("ad-learner"),
            "--store=" + StoreAddress(),
            "--preset=test",
            "--checkpoint_dir=" + ckpt_dir,
            absl::StrCat("--steps=", steps),
            "--threads=1",
            absl::StrCat("--port=", port),
            "--metrics_port=-1",
            "--progress=false",
            "--set=train.checkpoint_every=20;train.keep_checkpoints=3"};
  }

  static inline std::string* root_ = nullptr;
  static inline int store_port_ = 0;
  static inline Subprocess* store_ = nullptr;
};

TEST_F(LearnerProcessTest, WindowSourceNeverReceivesAHeldOutTask) {
  StoreWindowSource::Options options;
  options.client.address = StoreAddress();
  options.request.window_len = 40;
  options.request.batch_size = 64;
  options.request.seed = 5;
  auto source = StoreWindowSource::Create(options);
  ASSERT_TRUE(source.ok()) << source.status();
  int windows = 0;
  for (int i = 0; i < 40; ++i) {
    auto w = (*source)->Next(absl::Now() + absl::Seconds(20));
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE(w->ValidateShape().ok());
    ASSERT_EQ(w->history_ids.size(), 64u);
    for (const std::string& id : w->history_ids) {
      ASSERT_TRUE(absl::StrContains(id, "/train/")) << id;
      ++windows;
    }
  }
  EXPECT_EQ(windows, 40 * 64);
  (*source)->Cancel();
  EXPECT_EQ((*source)->Next(absl::Now()).status().code(),
            absl::StatusCode::kCancelled);
}

TEST_F(LearnerProcessTest, TrainsResumesServesCheckpointsAndExports) {
  const std::string ckpt_dir = *root_ + "/ckpt";
  const std::string log = *root_ + "/learner.log";
  const std::string policy = *root_ + "/policy.ts";
  {
    // First run: 40 steps, then exit.
    std::vector<std::string> args = LearnerArgs(ckpt_dir, PickFreePort(), 40);
    args.push_back("--exit_when_done");
    auto learner = Subprocess::Start(args, log);
    ASSERT_TRUE(learner.ok());
    auto status = learner->Wait(absl::Seconds(120));
    ASSERT_TRUE(status.ok()) << ReadFile(log);
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << ReadFile(log);
  }
  auto dir = ad::learner::CheckpointDir::Open({ckpt_dir, 3});
  ASSERT_TRUE(dir.ok());
  auto latest = dir->Latest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->step, 40);

  // Second run: resumes at 40, trains to 60, keeps serving until SIGTERM.
  const int port = PickFreePort();
  std::vector<std::string> args = LearnerArgs(ckpt_dir, port, 60);
  args.push_back("--export_torchscript=" + policy);
  auto learner = Subprocess::Start(args, log);
  ASSERT_TRUE(learner.ok());
  ASSERT_TRUE(WaitForPort(port, absl::Seconds(60)).ok()) << ReadFile(log);
  auto channel = MakeChannel(absl::StrCat("127.0.0.1:", port));
  auto stub = ad::v1::LearnerService::NewStub(channel);
  ad::v1::LearnerStatusResponse status;
  for (int i = 0; i < 600; ++i) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(5));
    ASSERT_TRUE(stub->Status(&context, {}, &status).ok());
    if (status.step() == 60 && status.latest_checkpoint_step() == 60) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.step(), 60u);
  EXPECT_EQ(status.total_steps(), 60u);
  EXPECT_EQ(status.device(), "cpu");
  EXPECT_GT(status.tokens_per_second(), 0);
  EXPECT_GT(status.loss(), 0);
  EXPECT_THAT(ReadFile(log), ::testing::HasSubstr("at step 40"));

  ad::v1::ListCheckpointsResponse list;
  {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(5));
    ASSERT_TRUE(stub->ListCheckpoints(&context, {}, &list).ok());
  }
  ASSERT_EQ(list.checkpoints_size(), 3);  // keep_checkpoints = 3
  EXPECT_EQ(list.checkpoints(2).step(), 60u);
  EXPECT_EQ(list.checkpoints(2).preset(), "test");

  std::string bytes;
  {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(10));
    ad::v1::GetCheckpointRequest request;  // step 0: the latest
    auto reader = stub->GetCheckpoint(&context, request);
    ad::v1::CheckpointChunk chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      if (first) {
        EXPECT_EQ(chunk.info().step(), 60u);
      }
      first = false;
      bytes += chunk.data();
    }
    ASSERT_TRUE(reader->Finish().ok());
  }
  auto checkpoint = ad::learner::LoadCheckpointFromBytes(bytes);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->step, 60);
  EXPECT_EQ(checkpoint->config.preset, "test");
  {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(5));
    ad::v1::GetCheckpointRequest request;
    request.set_step(7);
    auto reader = stub->GetCheckpoint(&context, request);
    ad::v1::CheckpointChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }

  ASSERT_TRUE(learner->Signal(SIGTERM).ok());
  auto exit = learner->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << ReadFile(log);
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << ReadFile(log);
  EXPECT_TRUE(fs::exists(policy)) << ReadFile(log);
}

// Bad GetCheckpoint requests get INVALID_ARGUMENT / NOT_FOUND with a short
// message, never INTERNAL, and the learner keeps serving (issue 17).
TEST_F(LearnerProcessTest, GetCheckpointRejectsStepsNoCheckpointCanHave) {
  const std::string ckpt_dir = *root_ + "/ckpt-bad-input";
  const std::string log = *root_ + "/learner-bad-input.log";
  const int port = PickFreePort();
  auto learner = Subprocess::Start(LearnerArgs(ckpt_dir, port, 1), log);
  ASSERT_TRUE(learner.ok());
  ASSERT_TRUE(WaitForPort(port, absl::Seconds(60)).ok()) << ReadFile(log);
  auto stub = ad::v1::LearnerService::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", port)));
  auto get = [&](uint64_t step) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(10));
    ad::v1::GetCheckpointRequest request;
    request.set_step(step);
    auto reader = stub->GetCheckpoint(&context, request);
    ad::v1::CheckpointChunk chunk;
    while (reader->Read(&chunk)) {
    }
    return reader->Finish();
  };
  for (uint64_t step : {uint64_t{1} << 63, ~uint64_t{0}}) {
    const grpc::Status status = get(step);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << step << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("step"));
  }
  const grpc::Status missing = get(123456789);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND)
      << missing.error_message();
  ASSERT_TRUE(learner->Signal(SIGTERM).ok());
  auto exit = learner->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << ReadFile(log);
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << ReadFile(log);
}

}  // namespace
}  // namespace ad::services::learner
