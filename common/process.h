// Child processes for the multi-process tests and the demo's supervisor: start
// a program, find free loopback ports, wait for a port to accept connections,
// stop children with SIGTERM or SIGKILL, and describe how a child ended.
//
// A Subprocess owns its child: the destructor sends SIGKILL and reaps it, so a
// failing test or a stopped demo never leaves servers behind. Wait() polls and
// blocks up to its timeout; nothing else blocks.
#ifndef AD_COMMON_PROCESS_H_
#define AD_COMMON_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ad {

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// Polls until 127.0.0.1:port accepts a TCP connection or the deadline passes
// (DEADLINE_EXCEEDED).
absl::Status WaitForPort(int port, absl::Duration timeout);

class Subprocess {
 public:
  // Starts argv[0] with the given arguments; stdout and stderr go to
  // `log_path` when it is non-empty (appended), else are inherited.
  static absl::StatusOr<Subprocess> Start(const std::vector<std::string>& argv,
                                          const std::string& log_path = "");

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();  // SIGKILL and reap if still running

  pid_t pid() const { return pid_; }

  // Sends `signal` (e.g. SIGTERM, SIGKILL) without waiting.
  absl::Status Signal(int signal);
  // Waits for exit up to `timeout`: the raw wait status, or DEADLINE_EXCEEDED.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGKILL and reap (the kill -9 of a fault test).
  void Kill();
  // True while the child has not exited.
  bool Running();
  // "running", "exited with code 3" or "killed by signal 9 (Killed)".
  std::string DescribeExit();

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace ad

#endif  // AD_COMMON_PROCESS_H_
