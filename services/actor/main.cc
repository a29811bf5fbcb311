// ad-actor: generates learning histories. Runs one source algorithm on a set
// of tasks and writes every actor stream's history to a sink.
//
//   ad-actor --family=darkroom --split=train --source=a3c
//            --preset=cpu-demo --parallel_tasks=2 --env=local
//            --sink=file:/tmp/histories
//
// --env:  "local" (in-process envs) or "HOST:PORT" (an ad-env-server).
// --sink: "file:DIR" (one file per history, actors/file_sink.h) or
//         "store:HOST:PORT" (the trajectory store, acknowledged appends).
// SIGTERM / SIGINT: the runners stop, recorded transitions are flushed (and
// acknowledged by the store), and the process exits 0.
// Prometheus metrics on --metrics_host:--metrics_port (default
// 127.0.0.1:9102; -1: off).
#include <prometheus/registry.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "actors/actor_metrics.h"
#include "actors/actor_process.h"
#include "actors/file_sink.h"
#include "actors/source_params.h"
#include "actors/source_registry.h"
#include "common/overrides.h"
#include "glog/logging.h"
#include "services/common/binary_init.h"
#include "services/common/client.h"
#include "services/common/metrics_http.h"
#include "services/env/remote_env.h"
#include "services/store/store_sink.h"

ABSL_FLAG(std::string, family, "",
          "environment family: darkroom, darkroom_hard, key_to_door, bandit; "
          "empty: the family of --tasks, else darkroom");
ABSL_FLAG(std::string, tasks, "",
          "space-separated task ids (ids contain commas); empty: the tasks "
          "of --split");
ABSL_FLAG(std::string, split, "train", "train, test or all (without --tasks)");
ABSL_FLAG(double, train_fraction, ad::envs::kDefaultTrainFraction,
          "fraction of tasks in the train split");
ABSL_FLAG(uint64_t, split_seed, ad::envs::kDefaultSplitSeed,
          "seed of the train/test split");
ABSL_FLAG(int, max_tasks, 0, "use only the first N selected tasks; 0: all");
ABSL_FLAG(std::string, source, "a3c",
          "source algorithm: a3c, dqn, ucb, tabular_q, rmax, noisy_expert, "
          "expert, random");
ABSL_FLAG(std::string, preset, "cpu-demo",
          "budget and hyperparameter preset: test, cpu-demo, paper, or a path");
ABSL_FLAG(std::string, set, "",
          "preset overrides 'key=value;key=value', e.g. "
          "'a3c.episodes=500;a3c.streams=4' (common/overrides.h: a comma "
          "also separates assignments; list values keep theirs)");
ABSL_FLAG(int, parallel_tasks, 1, "tasks run at once, one thread each");
ABSL_FLAG(int, torch_threads, 1, "LibTorch intra-op threads");
ABSL_FLAG(uint64_t, seed, 1, "environment seed of every task");
ABSL_FLAG(std::string, env, "local", "local, or HOST:PORT of an ad-env-server");
ABSL_FLAG(std::string, sink, "", "file:DIR or store:HOST:PORT (required)");
ABSL_FLAG(int64_t, chunk_transitions, 4096, "transitions per sink chunk");
ABSL_FLAG(absl::Duration, flush_timeout, absl::Seconds(60),
          "longest wait for the sink to make everything durable at the end");
ABSL_FLAG(int, metrics_port, 9102, "Prometheus /metrics port; -1: off");
ABSL_FLAG(std::string, metrics_host, "127.0.0.1",
          "interface for /metrics (0.0.0.0 in containers)");

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int /*signal*/) { g_stop.store(true); }

absl::StatusOr<std::unique_ptr<ad::actors::HistorySink>> MakeSink(
    const std::string& spec) {
  if (absl::StartsWith(spec, "file:") && spec.size() > 5) {
    ad::actors::FileSink::Options options{spec.substr(5)};
    auto sink = ad::actors::FileSink::Create(options);
    if (!sink.ok()) return sink.status();
    return std::unique_ptr<ad::actors::HistorySink>(std::move(*sink));
  }
  if (absl::StartsWith(spec, "store:") && spec.size() > 6) {
    ad::services::store::StoreSink::Options options;
    options.address = spec.substr(6);
    if (absl::Status s =
            ad::services::ValidateAddress(options.address, "--sink store:");
        !s.ok()) {
      return s;
    }
    auto sink = ad::services::store::StoreSink::Create(options);
    if (!sink.ok()) return sink.status();
    return std::unique_ptr<ad::actors::HistorySink>(std::move(*sink));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--sink is '", spec, "'; must be file:DIR or store:HOST:PORT"));
}

ad::actors::EnvFactory MakeEnvFactory(const std::string& location) {
  return [location](const std::string& family,
                    const std::vector<std::string>& task_ids, int num_envs,
                    uint64_t seed) {
    return ad::services::MakeEnv(location, family, task_ids, num_envs, seed);
  };
}

int Main() {
  ad::actors::ActorOptions options;
  options.family = absl::GetFlag(FLAGS_family);
  options.tasks =
      absl::StrSplit(absl::GetFlag(FLAGS_tasks), ' ', absl::SkipWhitespace());
  options.split = absl::GetFlag(FLAGS_split);
  options.train_fraction = absl::GetFlag(FLAGS_train_fraction);
  options.split_seed = absl::GetFlag(FLAGS_split_seed);
  options.max_tasks = absl::GetFlag(FLAGS_max_tasks);
  options.source = absl::GetFlag(FLAGS_source);
  options.preset = absl::GetFlag(FLAGS_preset);
  options.overrides = ad::SplitOverrides(absl::GetFlag(FLAGS_set));
  options.parallel_tasks = absl::GetFlag(FLAGS_parallel_tasks);
  options.torch_threads = absl::GetFlag(FLAGS_torch_threads);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.chunk_transitions = absl::GetFlag(FLAGS_chunk_transitions);
  options.flush_timeout = absl::GetFlag(FLAGS_flush_timeout);
  if (absl::Status s = options.Validate(); !s.ok()) {
    LOG(ERROR) << "bad flags: " << s;
    return 2;
  }
  const int metrics_port = absl::GetFlag(FLAGS_metrics_port);
  if (metrics_port < -1 || metrics_port > 65535) {
    LOG(ERROR) << "--metrics_port is " << metrics_port
               << "; must be -1 or in [0, 65535]";
    return 2;
  }
  if (const std::string env = absl::GetFlag(FLAGS_env); env != "local") {
    if (absl::Status s = ad::services::ValidateAddress(env, "--env"); !s.ok()) {
      LOG(ERROR) << s;
      return 2;
    }
  }
  auto sink = MakeSink(absl::GetFlag(FLAGS_sink));
  if (!sink.ok()) {
    LOG(ERROR) << sink.status();
    return 2;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  ad::actors::ActorMetrics metrics(registry);
  std::unique_ptr<ad::services::MetricsHttpServer> metrics_server;
  if (metrics_port >= 0) {
    auto server = ad::services::MetricsHttpServer::Start(
        absl::GetFlag(FLAGS_metrics_host), metrics_port, registry);
    if (!server.ok()) {
      LOG(ERROR) << server.status();
      return 2;
    }
    metrics_server = std::move(*server);
    LOG(INFO) << "metrics on " << absl::GetFlag(FLAGS_metrics_host) << ":"
              << metrics_server->port();
  }

  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  LOG(INFO) << "ad-actor: source " << options.source << ", preset "
            << options.preset << ", env " << absl::GetFlag(FLAGS_env)
            << ", sink " << absl::GetFlag(FLAGS_sink);
  auto summary =
      ad::actors::RunActor(options, MakeEnvFactory(absl::GetFlag(FLAGS_env)),
                           sink->get(), &metrics, &g_stop);
  if (!summary.ok()) {
    LOG(ERROR) << "ad-actor failed: " << summary.status();
    return 1;
  }
  LOG(INFO) << "ad-actor done: " << summary->tasks_completed << "/"
            << summary->tasks_total << " tasks, " << summary->env_steps
            << " env steps, " << summary->episodes << " episodes in "
            << absl::FormatDuration(summary->elapsed)
            << (summary->stopped ? " (stopped by signal; flushed)" : "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ad::services::InitServiceBinary(
      argc, argv,
      "Generates learning histories: ad-actor --source=a3c --preset=cpu-demo "
      "--sink=file:DIR",
      ad::services::SecurityRole::kClient);
  return Main();
}
