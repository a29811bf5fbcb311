// ad-evaluator: the EvaluatorService process (port 50054, metrics 9105).
//
//   ad-evaluator [--port 50054] [--metrics_port 9105] [--output_dir DIR]
//                [--checkpoint_dir DIR | --learner HOST:PORT] [--watch]
//   ad-evaluator eval EXPERIMENT ...   (the `adctl eval` command group)
//
// With --watch it evaluates every new learner checkpoint on the held-out
// tasks (--watch_seeds x --watch_max_tasks, --watch_episodes) and exports the
// latest returns as Prometheus gauges (ad_evaluator_latest_*).
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "services/common/binary_init.h"
#include "services/common/client.h"
#include "services/common/flags.h"
#include "services/common/server.h"
#include "services/evaluator/eval_cli.h"
#include "services/evaluator/evaluator_service.h"

ABSL_FLAG(std::string, output_dir, "out/evaluator",
          "directory for per-request outputs (CSV/JSON/PNG)");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "learner checkpoint directory (shared disk), for learner:latest "
          "and --watch");
ABSL_FLAG(std::string, learner, "",
          "ad-learner address, for learner:latest and --watch (checkpoints "
          "are fetched into --output_dir/checkpoints)");
ABSL_FLAG(bool, watch, false, "evaluate each new checkpoint as it appears");
ABSL_FLAG(absl::Duration, watch_poll, absl::Seconds(30),
          "watch: time between checks for a new checkpoint");
ABSL_FLAG(std::string, watch_env, "darkroom", "watch: environment family");
ABSL_FLAG(int, watch_seeds, 4, "watch: evaluation seeds per task");
ABSL_FLAG(int, watch_max_tasks, 8, "watch: held-out tasks (0: all)");
ABSL_FLAG(int, watch_episodes, 20, "watch: episodes per row");
ABSL_FLAG(double, train_fraction, 0.75, "watch: the data's train fraction");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads");
ABSL_FLAG(std::string, python, "/usr/bin/python3",
          "python3 with matplotlib for the PNG plots");

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "eval") {
    google::InitGoogleLogging(argv[0]);
    FLAGS_logtostderr = true;
    return ad::services::RunEvalCommand(argc - 2, argv + 2);
  }
  ad::services::InitServiceBinary(
      argc, argv,
      "EvaluatorService: in-context rollouts of AD checkpoints.\n"
      "  ad-evaluator [flags]          serve on --port (default 50054)\n"
      "  ad-evaluator eval EXPERIMENT  run one experiment (adctl eval)",
      ad::services::SecurityRole::kServerAndClient);

  ad::services::ServerOptions server =
      ad::services::ServerOptionsFromFlags("ad-evaluator", 50054, 9105);
  ad::services::EvaluatorServiceImpl::Options options;
  options.output_dir = absl::GetFlag(FLAGS_output_dir);
  options.plot.python = absl::GetFlag(FLAGS_python);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.checkpoints.checkpoint_dir = absl::GetFlag(FLAGS_checkpoint_dir);
  options.checkpoints.learner = absl::GetFlag(FLAGS_learner);
  options.checkpoints.cache_dir = options.output_dir + "/checkpoints";
  const absl::Status learner_address =
      options.checkpoints.learner.empty()
          ? absl::OkStatus()
          : ad::services::ValidateAddress(options.checkpoints.learner,
                                          "--learner");
  for (const absl::Status& s :
       {server.Validate(), options.Validate(), learner_address}) {
    if (!s.ok()) {
      LOG(ERROR) << "ad-evaluator: " << s;
      return 2;
    }
  }
  auto registry = std::make_shared<prometheus::Registry>();
  ad::services::EvaluatorServiceImpl service(options, *registry);

  std::unique_ptr<ad::services::Watcher> watcher;
  if (absl::GetFlag(FLAGS_watch)) {
    ad::services::Watcher::Options watch;
    watch.checkpoints = options.checkpoints;
    watch.poll = absl::GetFlag(FLAGS_watch_poll);
    watch.spec.env = absl::GetFlag(FLAGS_watch_env);
    watch.spec.seeds = absl::GetFlag(FLAGS_watch_seeds);
    watch.spec.max_tasks = absl::GetFlag(FLAGS_watch_max_tasks);
    watch.spec.episodes = absl::GetFlag(FLAGS_watch_episodes);
    watch.spec.train_fraction = absl::GetFlag(FLAGS_train_fraction);
    watch.spec.baselines = {};
    watch.spec.threads = options.threads;
    watch.spec.plot = false;
    watch.spec.out_dir = options.output_dir + "/watch";
    watch.spec.checkpoint = "pending";  // set per checkpoint
    for (const absl::Status& s : {watch.Validate(), watch.spec.Validate()}) {
      if (!s.ok()) {
        LOG(ERROR) << "ad-evaluator --watch: " << s;
        return 2;
      }
    }
    watcher =
        std::make_unique<ad::services::Watcher>(watch, &service, *registry);
  }
  absl::Status status = ad::services::RunServer(server, {&service}, registry);
  watcher.reset();
  if (!status.ok()) {
    LOG(ERROR) << "ad-evaluator: " << status;
    return 1;
  }
  return 0;
}
