// adctl: the project's command-line tool, `adctl <group> <command>`.
// Groups register their commands here, one line each.
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "glog/logging.h"
#include "services/adctl/command.h"
#include "services/adctl/env_commands.h"
#include "services/adctl/flags.h"
#include "services/adctl/store_commands.h"
#include "services/common/security_flags.h"
#include "services/common/usage.h"
#include "services/evaluator/eval_cli.h"

// Defined with the store commands (services/adctl/store_commands.cc).
ABSL_DECLARE_FLAG(std::string, store);

int main(int argc, char** argv) {
  // `adctl eval ...` parses its own flags (services/evaluator/eval_cli.h).
  if (argc > 1 && std::string(argv[1]) == "eval") {
    FLAGS_logtostderr = true;
    google::InitGoogleLogging(argv[0]);
    return ad::services::RunEvalCommand(argc - 2, argv + 2);
  }
  ad::services::SetProgramUsage(
      "adctl <group> <command> [args] [--flags]; run `adctl` for the list;\n"
      "adctl eval EXPERIMENT ... runs an evaluator experiment");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  google::InitGoogleLogging(argv[0]);
  ad::services::InstallSecurityFromFlagsOrExit(
      ad::services::SecurityRole::kClient);

  ad::adctl::CommandRegistry registry;
  ad::adctl::RegisterStoreCommands(&registry);
  ad::adctl::RegisterEnvCommands(&registry);
  registry.SetGroupCheck("store", [] {
    return ad::adctl::CheckServer("--store", absl::GetFlag(FLAGS_store),
                                  absl::GetFlag(FLAGS_connect_timeout));
  });

  return registry.Run(
      std::vector<std::string>(positional.begin() + 1, positional.end()));
}
