#include "common/process.h"

#include <signal.h>
#include <sys/wait.h>

#include "gtest/gtest.h"

namespace ad {
namespace {

TEST(SubprocessTest, ReportsExitCode) {
  auto p = Subprocess::Start({"/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(p.ok()) << p.status();
  auto status = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 3);
  EXPECT_EQ(p->DescribeExit(), "exited with code 3");
}

TEST(SubprocessTest, KillStopsALongRunningChild) {
  auto p = Subprocess::Start({"/bin/sleep", "60"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Running());
  ASSERT_TRUE(p->Signal(SIGKILL).ok());
  auto status = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_EQ(p->DescribeExit(), "killed by signal 9 (Killed)");
}

TEST(SubprocessTest, WaitForPortTimesOutOnAClosedPort) {
  const int port = PickFreePort();
  ASSERT_GT(port, 0);
  EXPECT_EQ(WaitForPort(port, absl::Milliseconds(100)).code(),
            absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace ad
