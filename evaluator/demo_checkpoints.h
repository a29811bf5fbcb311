// Makes AD and ED checkpoints in one process, for demos, the quality check
// and the benchmark, without the actor / store / learner services:
//
//   1. Source data on the TRAIN split of a grid family, stepped through the
//      real environments (envs/): "q_learning" learning histories (tabular
//      Q-learning with optimistic initial values and epsilon-greedy
//      exploration, one learner per stream: early episodes explore, later
//      ones walk to the goal) for AD, or "expert" histories (the env's
//      expert every step) for ED -- the same model and training, only the
//      data differ, as in the paper's ED baseline.
//   2. Training with the learner's own Trainer, window source and
//      prefetcher (learner/), at a preset (cpu-demo by default).
//   3. The learner's checkpoint files in out_dir.
//
// The distributed pipeline makes the same two checkpoints with actors
// (source a3c / noisy_expert vs expert), the store, and a learner filtered
// on data.source. Blocks for the whole run (minutes at cpu-demo).
#ifndef AD_EVALUATOR_DEMO_CHECKPOINTS_H_
#define AD_EVALUATOR_DEMO_CHECKPOINTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/env.h"
#include "learner/in_process_source.h"

namespace ad::evaluator {

struct DemoDataOptions {
  std::string env = "darkroom";  // a grid family
  // "q_learning", "noisy_expert" (epsilon 1 -> 0 over the history's
  // episodes around the env's expert) or "expert".
  std::string source = "q_learning";
  // Tasks to run on; empty: the train split below.
  std::vector<std::string> tasks;
  double train_fraction = envs::kDefaultTrainFraction;  // task split
  uint64_t split_seed = envs::kDefaultSplitSeed;
  int streams_per_task = 8;  // histories per train task
  int episodes = 60;         // per history
  uint64_t seed = 1;
  // Q-learning source.
  double alpha = 0.5;
  double gamma = 0.9;
  double epsilon = 0.1;
  double initial_q = 2.0;  // optimism: untried actions look best

  absl::Status Validate() const;
};

// Learning histories of `options.source` on the train tasks, one per
// (task, stream), split "train".
absl::StatusOr<std::vector<learner::History>> MakeDemoHistories(
    const DemoDataOptions& options);

struct DemoTrainOptions {
  DemoDataOptions data;
  std::string preset = "cpu-demo";     // learner preset (name or .cfg path)
  std::vector<std::string> overrides;  // key=value on top of the preset
  std::string out_dir;                 // checkpoint directory (required)
  int threads = 1;                     // LibTorch threads
  absl::Status Validate() const;
};

// Generates the data, trains, writes checkpoints; returns the last path.
absl::StatusOr<std::string> TrainDemoCheckpoint(
    const DemoTrainOptions& options);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_DEMO_CHECKPOINTS_H_
