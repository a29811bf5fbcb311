#include "services/common/metrics_http.h"

#include <prometheus/registry.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/metrics.h"
#include "tests/testing/raw_connection.h"

namespace ad::services {
namespace {

using ::ad::testing::RawConnection;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  void Start(const MetricsHttpServer::Options& options = {}) {
    registry_ = std::make_shared<prometheus::Registry>();
    AddCounter(*registry_, "ad_test_scrapes_total", "a test counter")
        .Increment(7);
    auto server = MetricsHttpServer::Start("127.0.0.1", 0, registry_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string Request(const std::string& request) {
    RawConnection client(server_->port());
    EXPECT_TRUE(client.connected());
    EXPECT_TRUE(client.Send(request));
    return client.ReadAll(absl::Seconds(10));
  }

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<MetricsHttpServer> server_;
};

constexpr char kScrape[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(MetricsHttpServerTest, GetMetricsAnswersTheExposition) {
  Start();
  const std::string response = Request(kScrape);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(response, HasSubstr("\nad_test_scrapes_total 7"));
  EXPECT_THAT(Request("GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
              StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(MetricsHttpServerTest, OtherPathsMethodsAndGarbageAreRejected) {
  Start();
  EXPECT_THAT(Request("GET / HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 404 Not Found\r\n"));
  const std::string post =
      Request("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("Allow: GET\r\n"));
  EXPECT_THAT(Request("DELETE /metrics HTTP/1.1\r\n\r\n"),
              StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(Request("hello\r\n\r\n"),
              StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_GE(server_->counters().rejected, 4u);
}

TEST_F(MetricsHttpServerTest, OversizeHeaderIsAnswered431AndClosed) {
  Start();
  const std::string request = absl::StrCat(
      "GET /metrics HTTP/1.1\r\nX-Pad: ", std::string(64 << 10, 'a'),
      "\r\n\r\n");
  RawConnection client(server_->port());
  ASSERT_TRUE(client.connected());
  // The server answers after max_header_bytes and drains the rest (or resets
  // once its drain limit is hit): either way the send ends.
  client.Send(request);
  const std::string response = client.ReadAll(absl::Seconds(10));
  EXPECT_THAT(response,
              StartsWith("HTTP/1.1 431 Request Header Fields Too Large"));
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(10)));
  // The server still serves.
  EXPECT_THAT(Request(kScrape), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(MetricsHttpServerTest, ClientSilentPastHeaderTimeoutIsClosed) {
  MetricsHttpServer::Options options;
  options.header_timeout = absl::Milliseconds(200);
  Start(options);
  RawConnection client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /metrics HTTP/1.1\r\n"));
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(10)));
  EXPECT_EQ(server_->counters().header_timeouts, 1u);
  EXPECT_EQ(server_->counters().answered, 0u);
}

TEST_F(MetricsHttpServerTest, AtTheConnectionCapTheOldestIdleOneIsEvicted) {
  MetricsHttpServer::Options options;
  options.max_connections = 2;
  options.header_timeout = absl::Minutes(5);
  Start(options);
  RawConnection oldest(server_->port());
  ASSERT_TRUE(oldest.connected());
  // Wait until the server holds it, so the order of acceptance is known.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (server_->counters().accepted < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.connected());
  EXPECT_THAT(Request(kScrape), StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(oldest.WaitClosed(absl::Seconds(10)));
  EXPECT_FALSE(idle.ClosedNow());
  EXPECT_GE(server_->counters().evicted, 1u);
}

// Issue 17, finding 4: 200 idle connections and one client trickling its
// header a byte at a time must not delay a scrape.
TEST_F(MetricsHttpServerTest, IdleAndTricklingClientsDoNotStallAScrape) {
  Start();  // the defaults every binary runs with
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  absl::Notification trickler_closed;
  absl::Notification stop_trickling;
  std::thread trickler([&] {
    RawConnection client(server_->port());
    if (!client.Send("GET /metrics HTTP/1.1\r\nX-Slow: ")) {
      trickler_closed.Notify();
      return;
    }
    // One byte every 100 ms until the server closes the connection.
    while (!stop_trickling.HasBeenNotified()) {
      if (client.WaitClosed(absl::Milliseconds(100)) || !client.Send("a")) {
        trickler_closed.Notify();
        return;
      }
    }
  });

  const absl::Time start = absl::Now();
  const std::string response = Request(kScrape);
  const absl::Duration took = absl::Now() - start;
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("\nad_test_scrapes_total 7"));
  EXPECT_LT(took, absl::Seconds(10)) << "the scrape was stalled";
  std::cout << "scrape with 200 idle + 1 trickling connections took "
            << absl::FormatDuration(took) << "\n";

  // The trickler is closed by the 5 s header deadline (or evicted).
  EXPECT_TRUE(
      trickler_closed.WaitForNotificationWithTimeout(absl::Seconds(60)));
  stop_trickling.Notify();
  trickler.join();
  // So are the idle connections the cap did not already evict.
  for (auto& client : idle) EXPECT_TRUE(client->WaitClosed(absl::Seconds(60)));
  const MetricsHttpServer::Counters counters = server_->counters();
  EXPECT_GE(counters.evicted, 200u - 64u);
  EXPECT_GE(counters.header_timeouts, 1u);
}

TEST_F(MetricsHttpServerTest, DestructorReturnsWhileClientsHoldConnections) {
  Start();
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.Send("GET /met"));
  server_.reset();
  EXPECT_TRUE(idle.WaitClosed(absl::Seconds(10)));
}

TEST(MetricsHttpServerOptionsTest, RejectsNonsense) {
  MetricsHttpServer::Options options;
  EXPECT_TRUE(options.Validate().ok());
  options.max_connections = 0;
  EXPECT_FALSE(options.Validate().ok());
  options = {};
  options.header_timeout = absl::ZeroDuration();
  EXPECT_FALSE(options.Validate().ok());
  options = {};
  options.max_header_bytes = 3;
  EXPECT_FALSE(options.Validate().ok());
}

}  // namespace
}  // namespace ad::services
