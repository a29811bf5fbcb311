// Helpers for multi-process tests: start the project's real binaries as child
// processes, find free loopback ports, wait for a port to accept connections,
// and stop children with SIGTERM or SIGKILL.
//
// A Subprocess owns its child: the destructor sends SIGKILL and reaps it, so a
// failing test never leaves servers behind.
#ifndef AD_TESTS_TESTING_SUBPROCESS_H_
#define AD_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ad::testing {

// Path of a project binary: $AD_BIN_DIR/name (ctest sets AD_BIN_DIR).
std::string BinaryPath(const std::string& name);

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

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace ad::testing

#endif  // AD_TESTS_TESTING_SUBPROCESS_H_
