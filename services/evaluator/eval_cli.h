// The `adctl eval ...` command group (also `ad-evaluator eval ...`), as a
// library both programs dispatch to. It opens `--store` through
// services/store/store_history_source.h; the evaluator library it drives
// (evaluator/experiments.h) has no gRPC.
//
// Usage: adctl eval EXPERIMENT [--flag=value | --flag value ...]
//   EXPERIMENT: incontext | prompt | context_sweep | bandit_ood | transfer
// e.g.
//   adctl eval incontext --checkpoint runs/ad/ckpt-000000004000.pt
//       --env darkroom --tasks test --seeds 20 --episodes 40 --out out/fig4
//       --baselines random,optimal,heuristic,source,ed
//       --ed_checkpoint runs/ed/ckpt-000000004000.pt --store 127.0.0.1:50052
//   (one command line)
//
// Flags fill an evaluator::EvalSpec (evaluator/experiments.h); a bad or unknown
// flag is an error naming it. The experiment writes CSV/JSON/PNG into --out and
// prints a summary table on stdout. The whole spec is checked first
// (ValidateExperiment: checkpoints against every env family, context
// lengths, tasks, output directory), so a spec that cannot run is a usage
// error before any rollout. Runs in the calling thread; returns the process
// exit code (0 ok, 2 usage error, 1 failure).
#ifndef AD_SERVICES_EVALUATOR_EVAL_CLI_H_
#define AD_SERVICES_EVALUATOR_EVAL_CLI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evaluator/experiments.h"

namespace ad::services {

// `args` are the words after "eval": the experiment, then flags.
absl::StatusOr<evaluator::EvalSpec> ParseEvalArgs(
    const std::vector<std::string>& args);

// The help text listing experiments and flags.
std::string EvalUsage();

// Parses, runs, writes outputs and prints the summary. `argv` holds the words
// after "eval" (argv[0] is the experiment).
int RunEvalCommand(int argc, char** argv);

}  // namespace ad::services

#endif  // AD_SERVICES_EVALUATOR_EVAL_CLI_H_
