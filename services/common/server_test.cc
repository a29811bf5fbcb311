#include "services/common/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ad/v1/env.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/common/metrics.h"

namespace ad::services {
namespace {

using ::testing::HasSubstr;

// A stand-in service: only Close is implemented, and it is timed.
class FakeEnvService final : public ad::v1::EnvService::Service {
 public:
  explicit FakeEnvService(prometheus::Registry& registry)
      : metrics_(registry, "fake") {}
  grpc::Status Close(grpc::ServerContext*, const ad::v1::CloseRequest*,
                     ad::v1::CloseResponse*) override {
    RpcTimer timer(&metrics_, "Close");
    return timer.Finish(grpc::Status::OK);
  }

 private:
  RpcMetrics metrics_;
};

// GET http://127.0.0.1:port/path over a plain socket; the whole response.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    ADD_FAILURE() << "connect to metrics port " << port << " failed";
    return "";
  }
  timeval timeout = {/*tv_sec=*/5, /*tv_usec=*/0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request =
      absl::StrCat("GET ", path,
                   " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  close(fd);
  return response;
}

ServerOptions TestOptions() {
  ServerOptions options;
  options.name = "test";
  options.port = 0;
  options.metrics_port = 0;
  options.grace = absl::Milliseconds(200);
  return options;
}

TEST(ServerOptionsTest, ValidateNamesTheField) {
  ServerOptions options;
  options.port = 70000;
  EXPECT_THAT(std::string(options.Validate().message()), HasSubstr("port"));
  options = ServerOptions();
  options.metrics_port = -5;
  EXPECT_THAT(std::string(options.Validate().message()),
              HasSubstr("metrics_port"));
  options = ServerOptions();
  options.grace = absl::Seconds(-1);
  EXPECT_THAT(std::string(options.Validate().message()), HasSubstr("grace"));
  EXPECT_TRUE(ServerOptions().Validate().ok());
}

TEST(ServerTest, ServesHealthAndMetricsOnPickedPorts) {
  auto registry = std::make_shared<prometheus::Registry>();
  FakeEnvService service(*registry);
  auto server = Server::Start(TestOptions(), {&service}, registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  ASSERT_GT((*server)->metrics_port(), 0);

  auto channel = MakeChannel((*server)->address());
  EXPECT_TRUE(CheckHealth(channel, "", absl::Seconds(5)).ok());

  auto stub = ad::v1::EnvService::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    SetDeadline(context, absl::Seconds(5));
    ad::v1::CloseResponse response;
    ASSERT_TRUE(stub->Close(&context, ad::v1::CloseRequest(), &response).ok());
  }

  const std::string scrape = HttpGet((*server)->metrics_port(), "/metrics");
  EXPECT_THAT(scrape, HasSubstr("200 OK"));
  EXPECT_THAT(
      scrape,
      HasSubstr("ad_fake_rpc_latency_seconds_count{method=\"Close\"} 3"));
  EXPECT_THAT(scrape, HasSubstr("ad_fake_rpc_latency_seconds_bucket{method="
                                "\"Close\",le=\"+Inf\"} 3"));

  (*server)->Shutdown(absl::ZeroDuration());
  (*server)->Wait();  // returns at once after Shutdown
  EXPECT_FALSE(CheckHealth(channel, "", absl::Milliseconds(300)).ok());
}

TEST(ServerTest, BusyPortIsUnavailable) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = Server::Start(TestOptions(), {}, registry);
  ASSERT_TRUE(first.ok()) << first.status();
  ServerOptions options = TestOptions();
  options.port = (*first)->port();
  auto second = Server::Start(options, {}, registry);
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
}

TEST(ServerTest, MetricsCanBeDisabled) {
  ServerOptions options = TestOptions();
  options.metrics_port = -1;
  auto server = Server::Start(options, {}, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), -1);
}

TEST(ShutdownOnSignalTest, SigtermStopsTheServer) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto server = Server::Start(TestOptions(), {}, registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ShutdownOnSignal on_signal(server->get(), absl::Milliseconds(100));
  auto channel = MakeChannel((*server)->address());
  ASSERT_TRUE(CheckHealth(channel, "", absl::Seconds(5)).ok());

  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  (*server)->Wait();  // would hang (test timeout) if the signal were lost
  EXPECT_EQ(on_signal.received_signal(), SIGTERM);
  EXPECT_FALSE(CheckHealth(channel, "", absl::Milliseconds(300)).ok());
}

}  // namespace
}  // namespace ad::services
