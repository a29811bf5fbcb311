// Starts the real ad-evaluator, runs an Evaluate stream (baselines only, so
// no checkpoint is needed), checks progress and final curves, a bad spec,
// /metrics, and a clean SIGTERM shutdown.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <csignal>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ad/v1/evaluator.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "tests/testing/subprocess.h"

namespace ad {
namespace {

using ::testing::HasSubstr;

class EvaluatorServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::PickFreePort();
    metrics_port_ = testing::PickFreePort();
    out_dir_ = std::string(::testing::TempDir()) + "/evaluator_server";
    auto child = testing::Subprocess::Start(
        {testing::BinaryPath("ad-evaluator"), absl::StrCat("--port=", port_),
         absl::StrCat("--metrics_port=", metrics_port_),
         "--output_dir=" + out_dir_, "--threads=1"},
        out_dir_ + ".log");
    ASSERT_TRUE(child.ok()) << child.status();
    server_.emplace(std::move(*child));
    ASSERT_TRUE(testing::WaitForPort(port_, absl::Seconds(30)).ok());
    stub_ = ad::v1::EvaluatorService::NewStub(
        services::MakeChannel(absl::StrCat("127.0.0.1:", port_)));
  }

  int port_ = 0;
  int metrics_port_ = 0;
  std::string out_dir_;
  std::optional<testing::Subprocess> server_;
  std::unique_ptr<ad::v1::EvaluatorService::Stub> stub_;
};

TEST_F(EvaluatorServerTest, EvaluateStreamsProgressThenCurves) {
  ad::v1::EvaluateRequest request;
  request.mutable_spec()->set_env("darkroom");
  request.mutable_spec()->set_seeds(2);
  request.mutable_spec()->set_episodes(5);
  request.mutable_spec()->set_max_tasks(3);
  request.mutable_spec()->add_baselines("heuristic");
  request.mutable_spec()->add_baselines("optimal");
  grpc::ClientContext context;
  services::SetDeadline(context, absl::Seconds(60));
  auto reader = stub_->Evaluate(&context, request);
  ad::v1::EvalProgress message;
  std::vector<ad::v1::EvalProgress> messages;
  while (reader->Read(&message)) messages.push_back(message);
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(messages.size(), 2u);
  EXPECT_EQ(messages[0].stage(), "heuristic");
  const ad::v1::EvalProgress& last = messages.back();
  ASSERT_EQ(last.curves_size(), 2);
  EXPECT_EQ(last.curves(1).method(), "optimal");
  EXPECT_EQ(last.curves(1).mean_return_size(), 5);
  EXPECT_GT(last.curves(1).mean_return(0), 0);
  EXPECT_FLOAT_EQ(last.curves(1).mean_return(4),
                  last.curves(1).optimal_return());
  EXPECT_THAT(last.summary(), HasSubstr("heuristic"));
  EXPECT_FALSE(last.output_dir().empty());
}

TEST_F(EvaluatorServerTest, BadSpecIsInvalidArgumentNamingTheField) {
  ad::v1::EvaluateRequest request;
  request.mutable_spec()->set_env("darkroom");
  request.mutable_spec()->add_baselines("oracle");
  grpc::ClientContext context;
  services::SetDeadline(context, absl::Seconds(30));
  auto reader = stub_->Evaluate(&context, request);
  ad::v1::EvalProgress message;
  while (reader->Read(&message)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("spec.baselines"));
}

TEST_F(EvaluatorServerTest, ServesHealthAndStopsOnSigterm) {
  auto channel = services::MakeChannel(absl::StrCat("127.0.0.1:", port_));
  EXPECT_TRUE(services::CheckHealth(channel, "", absl::Seconds(10)).ok());
  EXPECT_TRUE(testing::WaitForPort(metrics_port_, absl::Seconds(10)).ok());
  ASSERT_TRUE(server_->Signal(SIGTERM).ok());
  absl::StatusOr<int> wait = server_->Wait(absl::Seconds(20));
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_TRUE(WIFEXITED(*wait));
  EXPECT_EQ(WEXITSTATUS(*wait), 0);
}

}  // namespace
}  // namespace ad
