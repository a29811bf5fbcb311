#include "services/adctl/command.h"

#include <glog/logging.h>

#include <cstdio>

#include "services/common/client.h"

namespace ad::adctl {

void CommandRegistry::Add(Command command) {
  auto key = std::make_pair(command.group, command.name);
  CHECK(commands_.count(key) == 0)
      << "adctl command registered twice: " << command.group << " "
      << command.name;
  commands_.emplace(std::move(key), std::move(command));
}

void CommandRegistry::PrintUsage(const std::string& group) const {
  std::fprintf(stderr, "usage: adctl <group> <command> [args] [--flags]\n");
  for (const auto& [key, command] : commands_) {
    if (!group.empty() && key.first != group) continue;
    std::fprintf(stderr, "  adctl %s %s %s\n      %s\n", key.first.c_str(),
                 key.second.c_str(), command.usage.c_str(),
                 command.help.c_str());
  }
}

int CommandRegistry::Run(const std::vector<std::string>& argv) const {
  if (argv.size() < 2) {
    PrintUsage(argv.empty() ? "" : argv[0]);
    return 2;
  }
  auto it = commands_.find(std::make_pair(argv[0], argv[1]));
  if (it == commands_.end()) {
    std::fprintf(stderr, "adctl: unknown command '%s %s'\n", argv[0].c_str(),
                 argv[1].c_str());
    PrintUsage(argv[0]);
    return 2;
  }
  absl::Status status;
  if (auto check = checks_.find(argv[0]); check != checks_.end()) {
    status = check->second();
  }
  if (status.ok()) {
    status =
        it->second.run(std::vector<std::string>(argv.begin() + 2, argv.end()));
  }
  if (status.ok()) return 0;
  std::fprintf(stderr, "adctl %s %s: %s\n", argv[0].c_str(), argv[1].c_str(),
               status.ToString().c_str());
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "usage: adctl %s %s %s\n", argv[0].c_str(),
                 argv[1].c_str(), it->second.usage.c_str());
    return 2;
  }
  return 1;
}

void CommandRegistry::SetGroupCheck(const std::string& group,
                                    std::function<absl::Status()> check) {
  checks_[group] = std::move(check);
}

absl::Status CheckServer(const std::string& flag, const std::string& address,
                         absl::Duration timeout) {
  if (absl::Status valid = services::ValidateAddress(address, flag);
      !valid.ok()) {
    return valid;
  }
  auto channel = services::MakeChannel(address);
  return services::CheckReachable(*channel, address, timeout);
}

absl::Status UsageError(const std::string& message) {
  return absl::InvalidArgumentError(message);
}

}  // namespace ad::adctl
