#include "services/common/client.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace ad::services {
namespace {

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

}  // namespace
}  // namespace ad::services
