#include "envs/registry.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "envs/bandit.h"
#include "envs/darkroom.h"
#include "envs/env.h"
#include "envs/key_to_door.h"
#include "envs/task_id.h"
#include "envs/watermaze.h"

namespace ad::envs {
namespace {

using Registry = std::vector<std::unique_ptr<const EnvFamily>>;

// Built on first use; never destroyed, so the pointers handed out stay valid
// through static destruction.
const Registry& Families() {
  static const Registry* const registry = [] {
    auto* families = new Registry;
    // One line per family.
    families->push_back(
        std::make_unique<DarkRoomFamily>(DarkRoomDefaultParams()));
    families->push_back(std::make_unique<DarkRoomFamily>(DarkRoomHardParams()));
    families->push_back(std::make_unique<KeyToDoorFamily>());
    families->push_back(std::make_unique<BanditFamily>());
    families->push_back(std::make_unique<WatermazeFamily>());
    return families;
  }();
  return *registry;
}

}  // namespace

absl::StatusOr<const EnvFamily*> FindFamily(std::string_view name) {
  for (const auto& family : Families()) {
    if (family->space().family == name) return family.get();
  }
  return absl::NotFoundError(absl::StrFormat(
      "unknown environment family \"%s\"; known: %s", EscapeForMessage(name),
      absl::StrJoin(FamilyNames(), ", ")));
}

absl::StatusOr<const EnvFamily*> FamilyOfTask(std::string_view task_id) {
  const size_t slash = task_id.find('/');
  if (slash == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "malformed task id \"%s\": expected \"<family>/<task>\", e.g. "
        "\"darkroom/goal=3,7\"",
        EscapeForMessage(task_id)));
  }
  return FindFamily(task_id.substr(0, slash));
}

std::vector<std::string> FamilyNames() {
  std::vector<std::string> names;
  for (const auto& family : Families()) names.push_back(family->space().family);
  return names;
}

}  // namespace ad::envs
