// A supervisor for the demo's child processes: starts each service as its own
// process with its output in a log file, notices when one dies unexpectedly,
// and stops them all (SIGTERM, then SIGKILL after a grace period).
//
// Used from one thread (the demo's main loop). Owns its children: the
// destructor stops any still running.
#ifndef AD_SERVICES_DEMO_SUPERVISOR_H_
#define AD_SERVICES_DEMO_SUPERVISOR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/process.h"

namespace ad::demo {

class Supervisor {
 public:
  // Logs go to `log_dir`/<name>.log; `bin_dir` holds the project binaries.
  Supervisor(std::string bin_dir, std::string log_dir);
  ~Supervisor();

  // Starts bin_dir/<program> with `args` as child `name`. A "daemon" is
  // expected to run until StopAll; a "job" (daemon = false) may exit 0.
  absl::Status Start(const std::string& name, const std::string& program,
                     const std::vector<std::string>& args, bool daemon);

  // Async-signal-safe: makes every later CheckAlive() return CANCELLED, so
  // the demo stops its children when it gets SIGINT or SIGTERM.
  static void RequestStop();

  // CANCELLED after RequestStop(); FAILED_PRECONDITION naming the first
  // child that died unexpectedly (a
  // daemon that exited, or a job that exited non-zero), how it ended, and
  // the last lines of its log.
  absl::Status CheckAlive();

  // Waits up to `timeout` for job `name` to exit, calling CheckAlive() for
  // the others meanwhile; `on_tick` runs every poll (progress drawing).
  absl::Status WaitForJob(const std::string& name, absl::Duration timeout,
                          const std::function<void()>& on_tick);

  // SIGTERM to `name`, SIGKILL after `grace`; returns how it ended.
  std::string Stop(const std::string& name, absl::Duration grace);
  // Stops every running child in reverse start order; prints one line each.
  void StopAll(absl::Duration grace);

  std::string LogPath(const std::string& name) const;
  // The last `lines` lines of a child's log.
  std::string LogTail(const std::string& name, int lines) const;

 private:
  struct Child {
    std::string name;
    bool daemon = true;
    bool stopping = false;
    Subprocess process;
  };
  Child* Find(const std::string& name);

  std::string bin_dir_;
  std::string log_dir_;
  std::vector<std::unique_ptr<Child>> children_;
};

}  // namespace ad::demo

#endif  // AD_SERVICES_DEMO_SUPERVISOR_H_
