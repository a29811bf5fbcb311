// The evaluator's experiments by name: the one table of them (registry.cc).
// Used by EvalSpec::Validate and RunExperiment (evaluator/experiments.h).
#ifndef AD_EVALUATOR_EXPERIMENTS_REGISTRY_H_
#define AD_EVALUATOR_EXPERIMENTS_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "evaluator/experiments/experiment.h"

namespace ad::evaluator {

// The experiment registered as `name`; nullptr if none is.
const Experiment* FindExperiment(absl::string_view name);

// The registered names, in the table's order.
std::vector<std::string> ExperimentNames();

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_EXPERIMENTS_REGISTRY_H_
