// Finds source algorithms by name ("a3c", "dqn", "ucb", "tabular_q",
// "noisy_expert", "expert", "random"). Adding a source: one file pair that
// defines a factory, and one line in source_registry.cc.
//
// The registry is a constant table, thread-safe.
#ifndef AD_ACTORS_SOURCE_REGISTRY_H_
#define AD_ACTORS_SOURCE_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

// Builds an agent for a task from the preset's parameters; INVALID_ARGUMENT
// for parameters out of range (naming the key) or a family the source does
// not support.
using SourceFactory =
    std::function<absl::StatusOr<std::unique_ptr<SourceAgent>>(
        const TaskSpec& spec, const SourceParams& params)>;

struct SourceInfo {
  std::string name;
  std::string description;
  SourceFactory make;
};

// NOT_FOUND listing the known names otherwise.
absl::StatusOr<const SourceInfo*> FindSource(absl::string_view name);
std::vector<std::string> SourceNames();

// How much a source runs per task, from the preset: `<source>.streams` /
// `streams` and `<source>.episodes` / `episodes`.
struct SourceBudget {
  int streams = 1;   // parallel actor streams (= histories) per task
  int episodes = 1;  // episodes per stream
  absl::Status Validate() const;
};
absl::StatusOr<SourceBudget> BudgetFor(absl::string_view source,
                                       const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_SOURCE_REGISTRY_H_
