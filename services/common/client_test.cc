#include "services/common/client.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::services {
namespace {

// The one schedule: initial * multiplier^retry within the jitter band,
// capped at max_backoff, and spread (not one fixed value) so clients that
// lost the same server do not retry in lockstep.
TEST(BackoffDelayTest, GrowsWithinTheJitterBandUpToTheCap) {
  BackoffOptions options;
  options.initial = absl::Milliseconds(100);
  options.multiplier = 2.0;
  options.max_backoff = absl::Seconds(1);
  options.jitter = 0.25;
  std::set<int64_t> first;
  for (int i = 0; i < 200; ++i) {
    for (int retry = 0; retry < 3; ++retry) {
      const double want = 100.0 * (1 << retry);
      const double got =
          absl::ToDoubleMilliseconds(BackoffDelay(options, retry));
      ASSERT_GE(got, want * 0.75 - 1e-6) << "retry " << retry;
      ASSERT_LE(got, want * 1.25 + 1e-6) << "retry " << retry;
    }
    first.insert(absl::ToInt64Microseconds(BackoffDelay(options, 0)));
    EXPECT_EQ(BackoffDelay(options, 10), absl::Seconds(1));
    EXPECT_EQ(BackoffDelay(options, 1000), absl::Seconds(1));
  }
  EXPECT_GT(first.size(), 20u);
  options.jitter = 0;
  EXPECT_EQ(BackoffDelay(options, 2), absl::Milliseconds(400));
}

TEST(RetryWithBackoffTest, StopsAtTheTotalDeadline) {
  BackoffOptions options;
  options.initial = absl::Milliseconds(10);
  options.max_backoff = absl::Milliseconds(40);
  options.max_attempts = 1000;
  options.total = absl::Milliseconds(300);
  int attempts = 0;
  const absl::Time start = absl::Now();
  const absl::Status status = RetryWithBackoff(options, [&] {
    ++attempts;
    return absl::UnavailableError("connection refused");
  });
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_NE(status.message().find("attempts"), std::string::npos) << status;
  EXPECT_LE(elapsed, absl::Milliseconds(300) + absl::Milliseconds(100));
  EXPECT_GE(elapsed, absl::Milliseconds(200));
  EXPECT_GT(attempts, 3);
  EXPECT_LT(attempts, 40);
}

TEST(RetryWithBackoffTest, StopsAfterMaxAttempts) {
  BackoffOptions options;
  options.initial = absl::Milliseconds(1);
  options.max_attempts = 4;
  int attempts = 0;
  const absl::Status status = RetryWithBackoff(options, [&] {
    ++attempts;
    return absl::UnavailableError("down");
  });
  EXPECT_TRUE(absl::IsUnavailable(status));
  EXPECT_EQ(attempts, 4);
}

TEST(RetryWithBackoffTest, DoesNotRetryOtherErrors) {
  int attempts = 0;
  const absl::Status status = RetryWithBackoff(BackoffOptions{}, [&] {
    ++attempts;
    return absl::InvalidArgumentError("actions: wrong count");
  });
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_EQ(attempts, 1);
}

TEST(RetryWithBackoffTest, ReturnsOkOnceTheServerIsBack) {
  BackoffOptions options;
  options.initial = absl::Milliseconds(1);
  int attempts = 0;
  const absl::Status status = RetryWithBackoff(options, [&] {
    return ++attempts < 3 ? absl::UnavailableError("down") : absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(attempts, 3);
}

TEST(RetryWithBackoffTest, RejectsInvalidOptions) {
  BackoffOptions options;
  options.max_attempts = 0;
  int attempts = 0;
  const absl::Status status = RetryWithBackoff(options, [&] {
    ++attempts;
    return absl::OkStatus();
  });
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find("max_attempts"), std::string::npos);
  EXPECT_EQ(attempts, 0);
}

TEST(CheckHealthTest, UnreachableServerIsUnavailableWithinTheDeadline) {
  // Port 1 on loopback: nothing listens there.
  auto channel = MakeChannel("127.0.0.1:1");
  const absl::Time start = absl::Now();
  const absl::Status status = CheckHealth(channel, "", absl::Milliseconds(500));
  EXPECT_FALSE(status.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(ValidateAddressTest, AcceptsHostPortForms) {
  for (const char* address :
       {"127.0.0.1:50052", "localhost:1", "ad-store:65535", "my_host.lan:9",
        "[::1]:50052", "[fe80::1]:80", "dns:///store.svc:50052",
        "unix:/tmp/ad.sock", "unix-abstract:ad"}) {
    EXPECT_TRUE(ValidateAddress(address).ok()) << address;
  }
}

TEST(ValidateAddressTest, RejectsBadPortsAndHostsNamingTheFlag) {
  const absl::Status status = ValidateAddress("127.0.0.1:99999", "--store");
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), ::testing::HasSubstr("--store"));
  EXPECT_THAT(status.message(),
              ::testing::HasSubstr("port 99999 is outside [1, 65535]"));
  for (const char* address :
       {"", "127.0.0.1", "127.0.0.1:", ":50052", "127.0.0.1:0", "127.0.0.1:-1",
        "127.0.0.1:5005x", "127.0.0.1:0000050052", "::1:50052", "[::1]50052",
        "[::1", "bad host:1", "unix:", "a/b:1"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateAddress(address))) << address;
  }
  // A huge value is echoed as a short prefix only.
  const std::string huge(10000, '9');
  EXPECT_LT(ValidateAddress(huge).message().size(), 512u);
}

TEST(CheckReachableTest, NothingListeningFailsAtOnceNamingTheAddress) {
  const std::string address = absl::StrCat("127.0.0.1:", PickFreePort());
  auto channel = MakeChannel(address);
  const absl::Time start = absl::Now();
  const absl::Status status =
      CheckReachable(*channel, address, absl::Seconds(60));
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(status.message(),
              ::testing::HasSubstr("nothing answers at " + address));
  // A refused connection is known at once, not after the 60 s timeout (nor
  // after a retry schedule).
  EXPECT_LT(absl::Now() - start, absl::Seconds(20));
}

TEST(CheckReachableTest, ARunningServerIsReachable) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto channel = MakeChannel(address);
  EXPECT_TRUE(CheckReachable(*channel, address, absl::Seconds(30)).ok());
  server->Shutdown();
}

}  // namespace
}  // namespace ad::services
