// adctl's command structure: `adctl <group> <command> [args] [--flags]`.
//
// A group (store, eval, ...) is one file pair that registers its commands
// in a CommandRegistry with one call from main.cc (e.g.
// RegisterStoreCommands). Flags shared by several groups (--task, --env,
// --format, --out, --timeout) are declared in services/adctl/flags.h; a
// group's own flags live in its .cc file.
//
// Commands write their result to stdout and problems to stderr, and return
// the process exit code (0 ok, 1 failure, 2 usage error).
#ifndef AD_SERVICES_ADCTL_COMMAND_H_
#define AD_SERVICES_ADCTL_COMMAND_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ad::adctl {

struct Command {
  std::string group;  // "store"
  std::string name;   // "tasks"
  std::string usage;  // arguments and flags, e.g. "HISTORY [--range=A:B]"
  std::string help;   // one line
  // Runs with the positional arguments after `<group> <command>`.
  std::function<absl::Status(const std::vector<std::string>& args)> run;
};

class CommandRegistry {
 public:
  // Dies if (group, name) is registered twice (programmer error).
  void Add(Command command);
  // Runs `argv` = {group, command, args...}; prints usage for unknown
  // commands. Returns the exit code.
  int Run(const std::vector<std::string>& argv) const;
  // Runs `check` before any command of `group` (e.g. CheckServer for the
  // group's server); a failing check ends the command as its failure would.
  void SetGroupCheck(const std::string& group,
                     std::function<absl::Status()> check);
  // Usage of every command (or of one group) on stderr.
  void PrintUsage(const std::string& group = "") const;

 private:
  std::map<std::pair<std::string, std::string>, Command> commands_;
  std::map<std::string, std::function<absl::Status()>> checks_;
};

// A group check: `address` (the value of `flag`, e.g. "--store") is a valid
// host:port (INVALID_ARGUMENT otherwise: a port like 99999 is not silently
// wrapped) and a server accepts a connection there within `timeout`
// (UNAVAILABLE "nothing answers at ..." otherwise, at once when the
// connection is refused, instead of after the calls' retry schedule).
absl::Status CheckServer(const std::string& flag, const std::string& address,
                         absl::Duration timeout);

// INVALID_ARGUMENT with a usage hint, for commands' argument checks.
absl::Status UsageError(const std::string& message);

}  // namespace ad::adctl

#endif  // AD_SERVICES_ADCTL_COMMAND_H_
