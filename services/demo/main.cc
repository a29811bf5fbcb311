// ad-demo: the end-to-end Algorithm Distillation pipeline on one machine,
// every service its own process on loopback (services/demo/demo.h).
//
//   ad-demo --out=runs/demo [--env=darkroom|watermaze|...] [--source=a3c]
//           [--actors=2] [--ad_steps=N]
#include <csignal>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "envs/env.h"
#include "glog/logging.h"
#include "services/common/usage.h"
#include "services/demo/demo.h"
#include "services/demo/supervisor.h"

ABSL_FLAG(std::string, out, "runs/demo",
          "output directory: store, checkpoints, logs, results");
ABSL_FLAG(std::string, bin_dir, "",
          "directory of the project binaries; empty: this binary's directory");
ABSL_FLAG(std::string, env, "darkroom", "environment family");
ABSL_FLAG(
    std::string, source, "",
    "source algorithm AD distils: a3c (the paper's; single-stream "
    "learners at the cpu-demo preset), tabular_q, dqn, rmax, noisy_expert, "
    "ucb; empty: the env's (darkroom a3c, darkroom_hard and "
    "key_to_door tabular_q, bandit ucb, watermaze dqn)");
ABSL_FLAG(std::string, actor_preset, "",
          "ad-actor preset; empty: the env's (darkroom cpu-demo, watermaze "
          "cpu-watermaze-ad, else cpu-<env>)");
ABSL_FLAG(std::string, learner_preset, "",
          "ad-learner preset; empty: the env's (as --actor_preset)");
ABSL_FLAG(std::string, learner_set, "",
          "extra learner preset overrides 'key=value;...' for AD and ED, "
          "after the demo's own (data.env, data.source, steps, stride)");
ABSL_FLAG(int, actors, 2, "source-RL actor processes");
ABSL_FLAG(int64_t, ad_steps, 0,
          "AD learner steps; 0: the preset's (cpu-demo: 6000)");
ABSL_FLAG(int64_t, ed_steps, -1,
          "ED learner steps (expert data is learnt fast); 0: the preset's; "
          "-1: the env's (600; watermaze 200)");
ABSL_FLAG(int, episode_stride, 0,
          "AD learns from every k-th episode of each history; 0: the "
          "source's default on darkroom (a3c 32, dqn 16), else the learner "
          "preset's");
ABSL_FLAG(int, heldout_streams, -1,
          "source streams per held-out goal, for the source's own curve; "
          "-1: the env's (4; watermaze 2)");
ABSL_FLAG(int, threads, 2, "LibTorch threads of the learner and evaluator");
ABSL_FLAG(double, train_fraction, ad::envs::kDefaultTrainFraction,
          "train share of the task split");
ABSL_FLAG(uint64_t, split_seed, ad::envs::kDefaultSplitSeed,
          "seed of the task split");
ABSL_FLAG(int, max_train_tasks, -1,
          "source RL on at most N train tasks, evenly spaced; 0: all; -1: "
          "the env's (all; watermaze 20)");
ABSL_FLAG(int, max_test_tasks, -1,
          "evaluate on at most N held-out tasks, evenly spaced; 0: all; -1: "
          "the env's (all; watermaze 8)");
ABSL_FLAG(int, eval_seeds, -1,
          "evaluation seeds per held-out task; -1: the env's (10; "
          "watermaze 6)");
ABSL_FLAG(int, eval_episodes, -1,
          "in-context episodes per seed; -1: the env's (40; bandit 100)");
ABSL_FLAG(absl::Duration, stage_timeout, absl::ZeroDuration(),
          "fail the demo when a stage (source RL, a learner, the evaluation) "
          "runs longer; 0: the env's (30m; watermaze 90m)");
ABSL_FLAG(double, temperature, 1.0, "evaluation action sampling; 0: greedy");
ABSL_FLAG(std::string, window, "chunk",
          "evaluator context: slide (recompute the last c transitions every "
          "step) or chunk (cached keys/values, ~3x faster)");

int main(int argc, char** argv) {
  ad::services::SetProgramUsage(
      "Runs source RL -> store -> learner -> evaluator on one machine.");
  absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  // SIGINT/SIGTERM make the supervisor stop every child before the demo
  // exits; children also get SIGTERM if the demo dies (PR_SET_PDEATHSIG).
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, [](int) { ad::demo::Supervisor::RequestStop(); });
  std::signal(SIGTERM, [](int) { ad::demo::Supervisor::RequestStop(); });

  ad::demo::DemoOptions o;
  o.out_dir = absl::GetFlag(FLAGS_out);
  o.bin_dir = absl::GetFlag(FLAGS_bin_dir);
  if (o.bin_dir.empty()) {
    o.bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path();
  }
  o.env = absl::GetFlag(FLAGS_env);
  o.source = absl::GetFlag(FLAGS_source);
  o.actor_preset = absl::GetFlag(FLAGS_actor_preset);
  o.learner_preset = absl::GetFlag(FLAGS_learner_preset);
  o.learner_set = absl::GetFlag(FLAGS_learner_set);
  o.actors = absl::GetFlag(FLAGS_actors);
  o.ad_steps = absl::GetFlag(FLAGS_ad_steps);
  o.ed_steps = absl::GetFlag(FLAGS_ed_steps);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.episode_stride = absl::GetFlag(FLAGS_episode_stride);
  o.heldout_streams = absl::GetFlag(FLAGS_heldout_streams);
  o.train_fraction = absl::GetFlag(FLAGS_train_fraction);
  o.split_seed = absl::GetFlag(FLAGS_split_seed);
  o.max_train_tasks = absl::GetFlag(FLAGS_max_train_tasks);
  o.max_test_tasks = absl::GetFlag(FLAGS_max_test_tasks);
  o.eval_seeds = absl::GetFlag(FLAGS_eval_seeds);
  o.eval_episodes = absl::GetFlag(FLAGS_eval_episodes);
  o.temperature = absl::GetFlag(FLAGS_temperature);
  o.window = absl::GetFlag(FLAGS_window);
  o.stage_timeout = absl::GetFlag(FLAGS_stage_timeout);
  absl::Status status = ad::demo::RunDemo(o);
  if (!status.ok()) {
    LOG(ERROR) << status;
    return 1;
  }
  return 0;
}
