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
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envs/env.h"

namespace ad::demo {

// Options marked "unset" take the family's value from DemoDefaultsFor(env)
// (ApplyEnvDefaults), so `ad-demo --env=watermaze` alone runs what fits.
struct DemoOptions {
  std::string out_dir = "runs/demo";  // store, checkpoints, logs, results
  std::string bin_dir;                // the project's binaries
  std::string env = "darkroom";
  std::string source;          // the source AD distils (README); "": unset
  std::string actor_preset;    // "": unset
  std::string learner_preset;  // "": unset
  // Extra learner overrides ("key=value;..."), applied after the demo's.
  std::string learner_set;
  int actors = 2;        // source-RL actor processes
  int64_t ad_steps = 0;  // learner steps for AD; 0: the preset's
  // Learner steps for ED; 0: the preset's; -1: unset.
  int64_t ed_steps = -1;
  // The learner keeps every k-th episode of each history
  // (data.episode_stride); 0: DefaultEpisodeStride(env, source).
  int episode_stride = 0;
  // Source streams per held-out goal (its curve); -1: unset.
  int heldout_streams = -1;
  int threads = 2;  // LibTorch threads of learner/evaluator
  double train_fraction = envs::kDefaultTrainFraction;  // task split
  uint64_t split_seed = envs::kDefaultSplitSeed;
  // Evenly spaced subsets of the split's sides (envs::EvenlySpacedTasks);
  // 0: every task; -1: unset. For families with hundreds of tasks.
  int max_train_tasks = -1;
  int max_test_tasks = -1;
  int eval_seeds = -1;       // evaluation seeds per held-out goal; -1: unset
  int eval_episodes = -1;    // in-context episodes per seed; -1: unset
  double temperature = 1.0;  // evaluation action sampling; 0: greedy
  std::string window = "chunk";  // evaluator context: "slide" or "chunk"
  // A stage (source RL, a learner, the evaluation) that runs longer fails
  // the demo; zero: unset.
  absl::Duration stage_timeout = absl::ZeroDuration();

  absl::Status Validate() const;
};

// What the demo runs on one family when an option is unset: the source AD
// distils, the presets sized for a 2-core CPU, and the evaluation's size.
// Values are the ones scripts/reproduce.sh measured with (docs/RESULTS.md).
struct EnvDemoDefaults {
  std::string source;
  std::string actor_preset;
  std::string learner_preset;
  int max_train_tasks = 0;  // 0: every task
  int max_test_tasks = 0;
  int eval_seeds = 10;
  int eval_episodes = 40;
  int heldout_streams = 4;
  int64_t ed_steps = 600;
  absl::Duration stage_timeout = absl::Minutes(30);
};

// darkroom: A3C, cpu-demo. darkroom_hard, key_to_door: tabular Q and their
// cpu-<family> presets. bandit: UCB, cpu-bandit, 100 pulls. watermaze:
// DQN(Q-lambda) from pixels with cpu-watermaze-ad on 20 train and 8
// held-out platforms (6 seeds, 2 held-out source streams, 200 ED steps,
// stages may take 90 minutes: a loaded machine's source RL took over 30).
// NOT_FOUND naming the known families otherwise.
absl::StatusOr<EnvDemoDefaults> DemoDefaultsFor(const std::string& env);

// Sets every unset option of `options` from DemoDefaultsFor(options.env).
absl::Status ApplyEnvDefaults(DemoOptions& options);

// The episode stride at which AD distils `source`'s cpu-demo histories of
// Dark Room into a faster in-context learner (docs/science.md: AD improves
// about as much per episode as its source does per k episodes, so k sets
// the pace), or 0 for "the learner preset's" (tabular_q: 4; every family
// but darkroom, whose presets carry their own). rmax: 2 on darkroom, 1
// (whole histories) elsewhere.
int DefaultEpisodeStride(const std::string& env, const std::string& source);

// Applies the env's defaults, validates, then runs.
absl::Status RunDemo(DemoOptions options);

}  // namespace ad::demo

#endif  // AD_SERVICES_DEMO_DEMO_H_
