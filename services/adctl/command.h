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
  // Usage of every command (or of one group) on stderr.
  void PrintUsage(const std::string& group = "") const;

 private:
  std::map<std::pair<std::string, std::string>, Command> commands_;
};

// INVALID_ARGUMENT with a usage hint, for commands' argument checks.
absl::Status UsageError(const std::string& message);

}  // namespace ad::adctl

#endif  // AD_SERVICES_ADCTL_COMMAND_H_
