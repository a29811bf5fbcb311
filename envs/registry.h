// Finds environment families by name. The registry is built once, on first
// use, and is immutable and thread-safe after that.
#ifndef AD_ENVS_REGISTRY_H_
#define AD_ENVS_REGISTRY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "envs/env.h"

namespace ad::envs {

// The family called `name` ("darkroom", ...); NOT_FOUND listing the known
// names otherwise. The pointer lives for the whole program.
absl::StatusOr<const EnvFamily*> FindFamily(std::string_view name);

// The family a task id belongs to: the part of the id before the first '/'.
absl::StatusOr<const EnvFamily*> FamilyOfTask(std::string_view task_id);

std::vector<std::string> FamilyNames();

}  // namespace ad::envs

#endif  // AD_ENVS_REGISTRY_H_
