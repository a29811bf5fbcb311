// Multi-process tests of ad-env-server (issue #4): the real binary, started on
// free loopback ports, driven by RemoteBatchedEnv and raw EnvService stubs.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "ad/v1/env.grpc.pb.h"
#include "envs/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/common/unary_call.h"
#include "services/env/remote_env.h"
#include "tests/testing/raw_connection.h"
#include "tests/testing/subprocess.h"

namespace ad::services {
namespace {

using ::ad::testing::RawConnection;
using ::testing::HasSubstr;

constexpr char kHoldSessionEnv[] = "AD_ENV_TEST_HOLD_SESSION_AT";

// GET /metrics from 127.0.0.1:port; empty on failure.
// Polls /metrics until it contains `line` or 10 s pass.
bool WaitForMetric(int port, const std::string& line) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    if (testing::ScrapeMetrics(port).find(line) != std::string::npos)
      return true;
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < deadline);
  return false;
}

// One ad-env-server child on free ports, SIGKILLed by the destructor if a
// test left it running.
class EnvServer {
 public:
  explicit EnvServer(std::vector<std::string> extra_flags = {}) {
    port_ = testing::PickFreePort();
    metrics_port_ = testing::PickFreePort();
    std::vector<std::string> argv = {
        testing::BinaryPath("ad-env-server"), absl::StrCat("--port=", port_),
        absl::StrCat("--metrics_port=", metrics_port_), "--grace=1s"};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    auto process = testing::Subprocess::Start(argv);
    EXPECT_TRUE(process.ok()) << process.status();
    if (process.ok()) {
      process_ = std::make_unique<testing::Subprocess>(*std::move(process));
    }
    const absl::Status up = testing::WaitForPort(port_, absl::Seconds(20));
    EXPECT_TRUE(up.ok()) << up;
    EXPECT_TRUE(testing::WaitForPort(metrics_port_, absl::Seconds(10)).ok());
    channel_ = MakeChannel(address());
    const absl::Status health = CheckHealth(channel_, "", absl::Seconds(10));
    EXPECT_TRUE(health.ok()) << health;
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int metrics_port() const { return metrics_port_; }
  testing::Subprocess& process() { return *process_; }
  std::unique_ptr<ad::v1::EnvService::Stub> NewStub() {
    return ad::v1::EnvService::NewStub(channel_);
  }

 private:
  int port_ = 0;
  int metrics_port_ = 0;
  std::unique_ptr<testing::Subprocess> process_;
  std::shared_ptr<grpc::Channel> channel_;
};

ad::v1::EnvRequest OpenRequest(const std::string& family,
                               const std::string& task, int n) {
  ad::v1::EnvRequest request;
  request.mutable_open()->set_family(family);
  request.mutable_open()->add_task_ids(task);
  request.mutable_open()->set_num_instances(static_cast<uint32_t>(n));
  return request;
}

// Opens a raw stream session and returns the status the server ended it
// with (OK if it answered the open).
grpc::Status OpenStatus(ad::v1::EnvService::Stub& stub,
                        const ad::v1::EnvRequest& open) {
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  auto stream = stub.Session(&context);
  stream->Write(open);
  ad::v1::EnvResponse response;
  if (stream->Read(&response)) {
    context.TryCancel();
    return grpc::Status::OK;
  }
  return stream->Finish();
}

TEST(EnvServerProcessTest, ExpertDrivesADarkRoomBatchToItsGoals) {
  EnvServer server;
  auto family = envs::FindFamily("darkroom");
  ASSERT_TRUE(family.ok());
  const std::vector<std::string> all = (*family)->AllTasks();
  std::vector<std::string> tasks;
  for (size_t i = 0; i < all.size(); i += 5) tasks.push_back(all[i]);
  const int n = static_cast<int>(tasks.size());

  auto env = MakeEnv(server.address(), "darkroom", tasks, n, /*seed=*/5);
  ASSERT_TRUE(env.ok()) << env.status();
  const int len = (*env)->space().episode_len;
  std::vector<int32_t> obs(2 * n), actions(n);
  std::vector<float> rewards(n), returns(n, 0.0f);
  std::vector<uint8_t> dones(n);
  ASSERT_TRUE((*env)->Reset(absl::MakeSpan(obs)).ok());
  for (int t = 0; t < len; ++t) {
    ASSERT_TRUE((*env)->ExpertActions(absl::MakeSpan(actions)).ok());
    ASSERT_TRUE(
        (*env)
            ->Step(actions, {absl::MakeSpan(obs), absl::MakeSpan(rewards),
                             absl::MakeSpan(dones)})
            .ok());
    for (int i = 0; i < n; ++i) returns[i] += rewards[i];
  }
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(dones[i], 1) << tasks[i];
    auto optimal = (*family)->OptimalReturn(tasks[i]);
    ASSERT_TRUE(optimal.ok());
    EXPECT_EQ(returns[i], *optimal) << tasks[i];
    EXPECT_GT(returns[i], 0.0f) << tasks[i];
  }
  // The server observes a step's latency just after sending its reply, so
  // the last observation may land a moment after the client has it.
  EXPECT_TRUE(WaitForMetric(
      server.metrics_port(),
      absl::StrCat("ad_env_rpc_latency_seconds_count{method=\"Session.step\"} ",
                   len)));
  const std::string metrics = testing::ScrapeMetrics(server.metrics_port());
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("ad_env_steps_total ", n * len)));
  EXPECT_THAT(metrics, HasSubstr("ad_env_sessions_active 1"));
}

TEST(EnvServerProcessTest, EveryBadInputIsRejectedAndTheSessionKeepsWorking) {
  EnvServer server(
      {"--max_instances=64", "--max_sessions=2", "--max_message_bytes=65536"});
  auto stub = server.NewStub();

  // Open errors end their stream with a status naming the field.
  struct BadOpen {
    ad::v1::EnvRequest request;
    grpc::StatusCode code;
    std::string field;
  };
  std::vector<BadOpen> bad_opens = {
      {OpenRequest("nope", "nope/x", 1), grpc::StatusCode::INVALID_ARGUMENT,
       "open.family"},
      {OpenRequest("darkroom", "darkroom/goal=12,0", 1),
       grpc::StatusCode::INVALID_ARGUMENT, "open.task_ids[0]"},
      {OpenRequest("darkroom", "darkroom/goal=1,0", 0),
       grpc::StatusCode::INVALID_ARGUMENT, "open.num_instances"},
      {OpenRequest("darkroom", "darkroom/goal=1,0", 65),
       grpc::StatusCode::RESOURCE_EXHAUSTED, "open.num_instances"},
  };
  for (const BadOpen& bad : bad_opens) {
    const grpc::Status status = OpenStatus(*stub, bad.request);
    EXPECT_EQ(status.error_code(), bad.code) << bad.field;
    EXPECT_THAT(status.error_message(), HasSubstr(bad.field));
  }

  // Inside a session: bad steps are answered in-band, nothing changes.
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(30));
  auto stream = stub->Session(&context);
  ad::v1::EnvResponse response;
  ASSERT_TRUE(stream->Write(OpenRequest("darkroom", "darkroom/goal=8,8", 4)));
  ASSERT_TRUE(stream->Read(&response));
  ad::v1::EnvRequest step;
  for (const std::vector<int32_t>& actions : std::vector<std::vector<int32_t>>{
           {4, 4, 4}, {4, 4, 4, 4, 4}, {4, 4, 5, 4}, {4, -1, 4, 4}}) {
    step.mutable_step()->mutable_actions()->Assign(actions.begin(),
                                                   actions.end());
    ASSERT_TRUE(stream->Write(step) && stream->Read(&response));
    EXPECT_EQ(response.error().code(), 3) << response.error().message();
    EXPECT_THAT(response.error().message(), HasSubstr("step.actions"));
  }
  const std::vector<int32_t> right = {4, 4, 4, 4};
  step.mutable_step()->mutable_actions()->Assign(right.begin(), right.end());
  ASSERT_TRUE(stream->Write(step) && stream->Read(&response));
  EXPECT_FALSE(response.has_error()) << response.error().message();
  EXPECT_THAT(response.batch().obs(),
              ::testing::ElementsAre(5, 4, 5, 4, 5, 4, 5, 4));

  // Sessions per server: this one plus one more, then RESOURCE_EXHAUSTED.
  grpc::ClientContext second_context;
  SetDeadline(second_context, absl::Seconds(30));
  auto second = stub->Session(&second_context);
  ASSERT_TRUE(second->Write(OpenRequest("darkroom", "darkroom/goal=0,0", 1)));
  ASSERT_TRUE(second->Read(&response));
  const grpc::Status third =
      OpenStatus(*stub, OpenRequest("darkroom", "darkroom/goal=0,0", 1));
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  second->WritesDone();
  EXPECT_TRUE(second->Finish().ok());

  // Message size: a step larger than --max_message_bytes ends that stream
  // with RESOURCE_EXHAUSTED (gRPC's own check); other sessions go on.
  ASSERT_TRUE(WaitForMetric(server.metrics_port(), "ad_env_sessions_active 1"));
  grpc::ClientContext big_context;
  SetDeadline(big_context, absl::Seconds(30));
  auto big = stub->Session(&big_context);
  ASSERT_TRUE(big->Write(OpenRequest("darkroom", "darkroom/goal=0,0", 1)));
  ASSERT_TRUE(big->Read(&response));
  ad::v1::EnvRequest huge;
  huge.mutable_step()->mutable_actions()->Resize(40000, 1000);
  big->Write(huge);
  EXPECT_FALSE(big->Read(&response));
  EXPECT_EQ(big->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  // The first session is still there and unchanged.
  ASSERT_TRUE(stream->Write(step) && stream->Read(&response));
  EXPECT_FALSE(response.has_error());
  EXPECT_THAT(response.batch().obs(),
              ::testing::ElementsAre(6, 4, 6, 4, 6, 4, 6, 4));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(EnvServerProcessTest, ResponsesOverTheMessageLimitAreRefusedAtOpen) {
  EnvServer server({"--max_instances=100000", "--max_message_bytes=65536"});
  auto stub = server.NewStub();
  const grpc::Status status =
      OpenStatus(*stub, OpenRequest("darkroom", "darkroom/goal=0,0", 10000));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("max_message_bytes"));
}

// Run as a child by the next test: opens a session and waits to be killed.
TEST(EnvServerProcessTest, HoldSessionOpenHelper) {
  const char* address = std::getenv(kHoldSessionEnv);
  if (address == nullptr) GTEST_SKIP() << "helper for the kill test";
  auto env = MakeEnv(address, "darkroom", {"darkroom/goal=0,0"}, 8, 1);
  ASSERT_TRUE(env.ok()) << env.status();
  absl::SleepFor(absl::Seconds(60));
}

TEST(EnvServerProcessTest, ClientThatDisappearsFreesItsSession) {
  EnvServer server;
  char self[PATH_MAX];
  const ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(len, 0);
  self[len] = '\0';
  setenv(kHoldSessionEnv, server.address().c_str(), 1);
  auto client = testing::Subprocess::Start(
      {self, "--gtest_filter=EnvServerProcessTest.HoldSessionOpenHelper"});
  unsetenv(kHoldSessionEnv);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(WaitForMetric(server.metrics_port(), "ad_env_sessions_active 1"))
      << testing::ScrapeMetrics(server.metrics_port());
  client->Kill();  // SIGKILL: no goodbye
  EXPECT_TRUE(WaitForMetric(server.metrics_port(), "ad_env_sessions_active 0"))
      << testing::ScrapeMetrics(server.metrics_port());
  // The server still serves new sessions.
  auto env = MakeEnv(server.address(), "darkroom", {"darkroom/goal=0,0"}, 2, 1);
  EXPECT_TRUE(env.ok()) << env.status();
}

// Issue 17, finding 5: a 10 KB id used to be echoed whole into the error
// message, past gRPC's metadata limit, so the client saw RESOURCE_EXHAUSTED
// ("received initial metadata size exceeds limit") instead of the real code.
TEST(EnvServerProcessTest, HugeIdsGetTheirRealCodeWithAShortMessage) {
  EnvServer server;
  auto stub = server.NewStub();
  const std::string huge(10 << 10, 'x');
  const std::string huge_task = absl::StrCat("darkroom/goal=", huge);

  struct BadOpen {
    ad::v1::EnvRequest request;
    std::string field;
  };
  const std::vector<BadOpen> bad_opens = {
      {OpenRequest("darkroom", huge_task, 1), "open.task_ids[0]"},
      {OpenRequest("darkroom", huge, 1), "open.task_ids[0]"},
      {OpenRequest(huge, "darkroom/goal=1,1", 1), "open.family"},
  };
  for (const BadOpen& bad : bad_opens) {
    const grpc::Status status = OpenStatus(*stub, bad.request);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message().substr(0, 200);
    EXPECT_THAT(status.error_message(), HasSubstr(bad.field));
    EXPECT_THAT(status.error_message(), HasSubstr("bytes)"));
    EXPECT_LT(status.error_message().size(), 1024u);
  }

  // Unary calls with a 10 KB session id: NOT_FOUND, short.
  ad::v1::StepRequest step;
  step.set_session_id(huge);
  ad::v1::StepResponse step_response;
  const grpc::Status stepped =
      CallOnce(*stub, &ad::v1::EnvService::Stub::Step, step, &step_response,
               absl::Seconds(10));
  EXPECT_EQ(stepped.error_code(), grpc::StatusCode::NOT_FOUND)
      << stepped.error_message().substr(0, 200);
  EXPECT_LT(stepped.error_message().size(), 1024u);

  ad::v1::CloseRequest close;
  close.set_session_id(huge);
  ad::v1::CloseResponse close_response;
  const grpc::Status closed =
      CallOnce(*stub, &ad::v1::EnvService::Stub::Close, close, &close_response,
               absl::Seconds(10));
  EXPECT_EQ(closed.error_code(), grpc::StatusCode::NOT_FOUND)
      << closed.error_message().substr(0, 200);
  EXPECT_LT(closed.error_message().size(), 1024u);

  // The same channel keeps working.
  EXPECT_TRUE(
      OpenStatus(*stub, OpenRequest("darkroom", "darkroom/goal=1,1", 1)).ok());
}

TEST(EnvServerProcessTest, SigtermShutsDownCleanly) {
  EnvServer server;
  {
    auto env =
        MakeEnv(server.address(), "darkroom", {"darkroom/goal=0,0"}, 2, 1);
    ASSERT_TRUE(env.ok()) << env.status();
  }
  ASSERT_TRUE(server.process().Signal(SIGTERM).ok());
  // Grace 1 s; the /metrics server stops at once.
  auto status = server.process().Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// Issue 17, finding 4: 200 idle /metrics connections and a client trickling
// its request a byte at a time used to stall every scrape for minutes.
TEST(EnvServerProcessTest, SlowMetricsClientsDoNotStallScrapes) {
  EnvServer server;
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server.metrics_port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  RawConnection trickler(server.metrics_port());
  ASSERT_TRUE(trickler.Send("GET /metrics HTTP/1.1\r\nX-Slow: "));
  // Trickles on a thread, one byte per 100 ms, until the server closes it.
  absl::Notification trickler_closed;
  std::thread trickle([&] {
    const absl::Time give_up = absl::Now() + absl::Seconds(60);
    while (absl::Now() < give_up) {
      if (trickler.WaitClosed(absl::Milliseconds(100)) || !trickler.Send("a")) {
        trickler_closed.Notify();
        return;
      }
    }
  });

  const absl::Time start = absl::Now();
  const std::string response = testing::ScrapeMetrics(server.metrics_port());
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(response, HasSubstr("ad_env_"));
  EXPECT_LT(took, absl::Seconds(10)) << "the scrape was stalled";
  std::cout << "ad-env-server scrape with 200 idle + 1 trickling "
               "connections took "
            << absl::FormatDuration(took) << "\n";
  trickle.join();
  EXPECT_TRUE(trickler_closed.HasBeenNotified())
      << "the trickling client was never closed";
  // gRPC in the same process is unaffected.
  auto env = MakeEnv(server.address(), "darkroom", {"darkroom/goal=0,0"}, 1, 1);
  EXPECT_TRUE(env.ok()) << env.status();
}

}  // namespace
}  // namespace ad::services
