#include "services/env/env_service.h"

#include <prometheus/text_serializer.h>

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/common/server.h"
#include "services/common/test_server.h"
#include "services/common/unary_call.h"

namespace ad::services {
namespace {

using ::testing::HasSubstr;
using Stub = ad::v1::EnvService::Stub;
using Stream =
    grpc::ClientReaderWriter<ad::v1::EnvRequest, ad::v1::EnvResponse>;

class EnvServiceTest : public ::testing::Test {
 protected:
  void StartServer(const EnvServiceImpl::Options& options) {
    service_ = std::make_unique<EnvServiceImpl>(options, *registry_);
    auto server = StartTestServer("env-test", service_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = ad::v1::EnvService::NewStub(MakeChannel(server_->address()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
  }

  // Opens a stream session; `first` gets the first response.
  std::unique_ptr<Stream> OpenStream(grpc::ClientContext& context, int n,
                                     ad::v1::EnvResponse* first) {
    SetDeadline(context, absl::Seconds(10));
    auto stream = stub_->Session(&context);
    ad::v1::EnvRequest request;
    request.mutable_open()->set_family("darkroom");
    request.mutable_open()->add_task_ids("darkroom/goal=4,6");
    request.mutable_open()->set_num_instances(static_cast<uint32_t>(n));
    EXPECT_TRUE(stream->Write(request));
    EXPECT_TRUE(stream->Read(first));
    return stream;
  }

  // Polls until the server has `n` open sessions (cleanup is asynchronous to
  // the client).
  void ExpectActiveSessions(int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (service_->active_sessions() != n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ(service_->active_sessions(), n);
  }

  std::string Scrape() {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
  }

  std::shared_ptr<prometheus::Registry> registry_ =
      std::make_shared<prometheus::Registry>();
  std::unique_ptr<EnvServiceImpl> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<ad::v1::EnvService::Stub> stub_;
};

TEST_F(EnvServiceTest, StreamAnswersBadRequestsInBandAndKeepsGoing) {
  StartServer({});
  grpc::ClientContext context;
  ad::v1::EnvResponse response;
  auto stream = OpenStream(context, 2, &response);
  EXPECT_EQ(response.space().num_actions(), 5u);
  EXPECT_FALSE(response.has_error());

  ad::v1::EnvRequest request;
  request.mutable_step()->add_actions(1);  // one action for two instances
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  EXPECT_EQ(response.error().code(), 3);  // INVALID_ARGUMENT
  EXPECT_THAT(response.error().message(), HasSubstr("step.actions"));

  request.mutable_step()->add_actions(5);  // out of range
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  EXPECT_THAT(response.error().message(), HasSubstr("step.actions[1] = 5"));

  request.mutable_open()->set_family("darkroom");  // a second open
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  EXPECT_EQ(response.error().code(), 3);
  EXPECT_THAT(response.error().message(), HasSubstr("open"));

  request.Clear();  // no kind
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  EXPECT_THAT(response.error().message(), HasSubstr("request.kind"));

  request.mutable_step()->add_actions(1);  // up: (4,4) -> (4,5)
  request.mutable_step()->add_actions(1);
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  EXPECT_FALSE(response.has_error());
  EXPECT_THAT(response.batch().obs(), ::testing::ElementsAre(4, 5, 4, 5));

  request.mutable_expert();
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  EXPECT_THAT(response.expert_actions(), ::testing::ElementsAre(1, 1));

  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
  ExpectActiveSessions(0);
  EXPECT_THAT(Scrape(), HasSubstr("ad_env_steps_total 2"));
}

// Watermaze (SpaceSpec.obs_bytes) answers in obs_u8, one byte per
// component; darkroom keeps its int32 obs, byte for byte as before.
TEST_F(EnvServiceTest, PixelFamiliesSendObservationsAsBytes) {
  StartServer(EnvServiceImpl::Options());
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  auto stream = stub_->Session(&context);
  ad::v1::EnvRequest request;
  request.mutable_open()->set_family("watermaze");
  request.mutable_open()->add_task_ids("watermaze/platform=20,15");
  request.mutable_open()->set_num_instances(3);
  ad::v1::EnvResponse response;
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  const uint32_t obs_dim = response.space().obs_dim();
  EXPECT_TRUE(response.space().obs_bytes());
  EXPECT_EQ(response.batch().obs_size(), 0);
  EXPECT_EQ(response.batch().obs_u8().size(), 3 * obs_dim);
  request.mutable_step()->add_actions(0);
  request.mutable_step()->add_actions(4);
  request.mutable_step()->add_actions(7);
  ASSERT_TRUE(stream->Write(request) && stream->Read(&response));
  ASSERT_FALSE(response.has_error()) << response.error().message();
  EXPECT_EQ(response.batch().obs_size(), 0);
  EXPECT_EQ(response.batch().obs_u8().size(), 3 * obs_dim);
  EXPECT_EQ(response.batch().rewards_size(), 3);
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());

  grpc::ClientContext darkroom_context;
  ad::v1::EnvResponse first;
  auto darkroom = OpenStream(darkroom_context, 2, &first);
  EXPECT_FALSE(first.space().obs_bytes());
  EXPECT_TRUE(first.batch().obs_u8().empty());
  EXPECT_THAT(first.batch().obs(), ::testing::ElementsAre(4, 4, 4, 4));
  ASSERT_TRUE(darkroom->WritesDone());
  EXPECT_TRUE(darkroom->Finish().ok());
}

TEST_F(EnvServiceTest, FirstRequestMustBeOpen) {
  StartServer({});
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  auto stream = stub_->Session(&context);
  ad::v1::EnvRequest request;
  request.mutable_step()->add_actions(0);
  ASSERT_TRUE(stream->Write(request));
  ad::v1::EnvResponse response;
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("open"));
}

TEST_F(EnvServiceTest, SessionLimitIsResourceExhausted) {
  EnvServiceImpl::Options options;
  options.max_sessions = 1;
  StartServer(options);
  grpc::ClientContext first_context;
  ad::v1::EnvResponse response;
  auto first = OpenStream(first_context, 1, &response);

  grpc::ClientContext second_context;
  SetDeadline(second_context, absl::Seconds(10));
  auto second = stub_->Session(&second_context);
  ad::v1::EnvRequest request;
  request.mutable_open()->set_family("darkroom");
  request.mutable_open()->add_task_ids("darkroom/goal=0,0");
  request.mutable_open()->set_num_instances(1);
  second->Write(request);
  EXPECT_FALSE(second->Read(&response));
  EXPECT_EQ(second->Finish().error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  ad::v1::ResetRequest reset;
  *reset.mutable_open() = request.open();
  ad::v1::ResetResponse reset_response;
  EXPECT_EQ(
      CallOnce(*stub_, &Stub::Reset, reset, &reset_response, absl::Seconds(10))
          .error_code(),
      grpc::StatusCode::RESOURCE_EXHAUSTED);

  first->WritesDone();
  EXPECT_TRUE(first->Finish().ok());
  ExpectActiveSessions(0);
}

TEST_F(EnvServiceTest, CancelledClientFreesItsSession) {
  StartServer({});
  auto context = std::make_unique<grpc::ClientContext>();
  ad::v1::EnvResponse response;
  auto stream = OpenStream(*context, 4, &response);
  ExpectActiveSessions(1);
  context->TryCancel();
  ExpectActiveSessions(0);
  EXPECT_THAT(Scrape(), HasSubstr("ad_env_sessions_active 0"));
}

TEST_F(EnvServiceTest, UnaryResetStepExpertClose) {
  StartServer({});
  ad::v1::ResetRequest reset;
  reset.mutable_open()->set_family("darkroom");
  reset.mutable_open()->add_task_ids("darkroom/goal=4,6");
  reset.mutable_open()->set_num_instances(3);
  ad::v1::ResetResponse opened;
  ASSERT_TRUE(
      CallOnce(*stub_, &Stub::Reset, reset, &opened, absl::Seconds(10)).ok());
  EXPECT_EQ(opened.session_id().size(), 32u);
  EXPECT_EQ(opened.batch().obs_size(), 6);

  ad::v1::StepRequest step;
  step.set_session_id(opened.session_id());
  step.mutable_actions()->add_actions(1);
  ad::v1::StepResponse stepped;
  const grpc::Status status =
      CallOnce(*stub_, &Stub::Step, step, &stepped, absl::Seconds(10));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("step.actions"));
  step.mutable_actions()->add_actions(1);
  step.mutable_actions()->add_actions(1);
  ASSERT_TRUE(
      CallOnce(*stub_, &Stub::Step, step, &stepped, absl::Seconds(10)).ok());
  EXPECT_THAT(stepped.batch().obs(), ::testing::ElementsAre(4, 5, 4, 5, 4, 5));
  ad::v1::ExpertRequest expert;
  expert.set_session_id(opened.session_id());
  ad::v1::ExpertResponse actions;
  ASSERT_TRUE(CallOnce(*stub_, &Stub::ExpertActions, expert, &actions,
                       absl::Seconds(10))
                  .ok());
  EXPECT_THAT(actions.actions(), ::testing::ElementsAre(1, 1, 1));
  ExpectActiveSessions(1);
  ad::v1::CloseRequest close;
  close.set_session_id(opened.session_id());
  ad::v1::CloseResponse closed;
  ASSERT_TRUE(
      CallOnce(*stub_, &Stub::Close, close, &closed, absl::Seconds(10)).ok());
  ExpectActiveSessions(0);
  EXPECT_EQ(CallOnce(*stub_, &Stub::Step, step, &stepped, absl::Seconds(10))
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(EnvServiceTest, IdleUnarySessionsExpire) {
  EnvServiceImpl::Options options;
  options.idle_timeout = absl::Milliseconds(100);
  StartServer(options);
  ad::v1::ResetRequest reset;
  reset.mutable_open()->set_family("darkroom");
  reset.mutable_open()->add_task_ids("darkroom/goal=4,6");
  reset.mutable_open()->set_num_instances(1);
  ad::v1::ResetResponse opened;
  ASSERT_TRUE(
      CallOnce(*stub_, &Stub::Reset, reset, &opened, absl::Seconds(10)).ok());
  ExpectActiveSessions(1);
  ExpectActiveSessions(0);  // within 5 s
}

}  // namespace
}  // namespace ad::services
