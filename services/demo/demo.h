// The one-command end-to-end demo: every service of the system as its own
// process on loopback ports picked free, running the whole Algorithm
// Distillation pipeline on Dark Room at a small preset:
//
//   ad-env-server, ad-store  ->  ad-actor x N (source RL on the train goals,
//   histories appended to the store) and one expert actor (ED's data)  ->
//   ad-learner (AD, then ED) sampling windows from the store  ->
//   ad-evaluator (in-context rollouts on held-out goals + baselines)  ->
//   CSV/JSON/PNG in the output directory and a summary table.
//
// Each stage shows a progress line. A second run reuses what the store and
// the checkpoint directories already hold (complete histories are not
// generated again; a finished learner is not trained again). If any process
// dies, the demo names it, shows how it ended and the end of its log, stops
// the others and fails. Blocks the calling thread for the whole run.
#ifndef AD_SERVICES_DEMO_DEMO_H_
#define AD_SERVICES_DEMO_DEMO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "envs/env.h"

namespace ad::demo {

struct DemoOptions {
  std::string out_dir = "runs/demo";  // store, checkpoints, logs, results
  std::string bin_dir;                // the project's binaries
  std::string env = "darkroom";
  std::string source = "a3c";  // the source AD distils (README)
  std::string actor_preset = "cpu-demo";
  std::string learner_preset = "cpu-demo";
  int actors = 2;        // source-RL actor processes
  int64_t ad_steps = 0;  // learner steps for AD; 0: the preset's
  int64_t ed_steps = 0;  // learner steps for ED; 0: the preset's
  // The learner keeps every k-th episode of each history
  // (data.episode_stride); 0: DefaultEpisodeStride(source).
  int episode_stride = 0;
  int heldout_streams = 4;  // source streams per held-out goal (its curve)
  int threads = 2;          // LibTorch threads of learner/evaluator
  double train_fraction = envs::kDefaultTrainFraction;  // task split
  uint64_t split_seed = envs::kDefaultSplitSeed;
  // Evenly spaced subsets of the split's sides (envs::EvenlySpacedTasks);
  // 0: every task. For families with thousands of tasks (key_to_door).
  int max_train_tasks = 0;
  int max_test_tasks = 0;
  int eval_seeds = 10;           // evaluation seeds per held-out goal
  int eval_episodes = 40;        // in-context episodes per seed
  double temperature = 1.0;      // evaluation action sampling; 0: greedy
  std::string window = "chunk";  // evaluator context: "slide" or "chunk"
  absl::Duration stage_timeout = absl::Minutes(30);

  absl::Status Validate() const;
};

// The episode stride at which AD distils `source`'s cpu-demo histories into
// a faster in-context learner (docs/science.md: AD improves about as much
// per episode as its source does per k episodes, so k sets the pace), or 0
// for "the learner preset's" (tabular_q: 4).
int DefaultEpisodeStride(const std::string& source);

absl::Status RunDemo(const DemoOptions& options);

}  // namespace ad::demo

#endif  // AD_SERVICES_DEMO_DEMO_H_
