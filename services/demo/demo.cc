#include "services/demo/demo.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "actors/source_params.h"
#include "actors/source_registry.h"
#include "ad/v1/evaluator.grpc.pb.h"
#include "ad/v1/learner.grpc.pb.h"
#include "ad/v1/store.grpc.pb.h"
#include "common/process.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "glog/logging.h"
#include "services/common/client.h"
#include "services/common/status_convert.h"
#include "services/demo/supervisor.h"

namespace ad::demo {
namespace {

namespace fs = std::filesystem;

constexpr absl::Duration kRpcTimeout = absl::Seconds(10);
constexpr absl::Duration kStartTimeout = absl::Seconds(60);
constexpr absl::Duration kStopGrace = absl::Seconds(20);

std::string Loopback(int port) { return absl::StrCat("127.0.0.1:", port); }

void Stage(const std::string& text) {
  std::fprintf(stderr, "\n== %s\n", text.c_str());
}

// Ports for one server: its gRPC port and its /metrics port.
struct Ports {
  int grpc = 0;
  int metrics = 0;
};

// A free loopback port not handed out before in this run (the kernel may
// offer a just-probed port again).
absl::StatusOr<int> PickUnusedPort() {
  static std::set<int>* used = new std::set<int>();
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = PickFreePort();
    if (port > 0 && used->insert(port).second) return port;
  }
  return absl::UnavailableError("could not find a free loopback port");
}

absl::StatusOr<Ports> PickPorts() {
  Ports p;
  AD_ASSIGN_OR_RETURN(p.grpc, PickUnusedPort());
  AD_ASSIGN_OR_RETURN(p.metrics, PickUnusedPort());
  return p;
}

std::vector<std::string> ServerArgs(const Ports& p) {
  return {"--host=127.0.0.1", absl::StrCat("--port=", p.grpc),
          absl::StrCat("--metrics_port=", p.metrics)};
}

// Waits until the child's gRPC port answers a health check, failing early if
// the child dies.
absl::Status WaitHealthy(Supervisor& sup, const std::string& name, int port) {
  auto channel = services::MakeChannel(Loopback(port));
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (true) {
    AD_RETURN_IF_ERROR(sup.CheckAlive());
    if (services::CheckHealth(channel, "", absl::Seconds(1)).ok()) {
      std::fprintf(stderr, "   %-12s serving on %s (log %s)\n", name.c_str(),
                   Loopback(port).c_str(), sup.LogPath(name).c_str());
      return absl::OkStatus();
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          name, " did not become healthy within ",
          absl::FormatDuration(kStartTimeout), "; see ", sup.LogPath(name)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// Train tasks of `source` that have no complete history in the store yet.
absl::StatusOr<std::vector<std::string>> MissingTasks(
    v1::StoreService::Stub& store, const std::string& env,
    const std::vector<std::string>& tasks, const std::string& source) {
  std::vector<std::string> missing;
  for (const std::string& task : tasks) {
    v1::QueryTaskRequest req;
    req.set_env(env);
    req.set_task_id(task);
    v1::QueryTaskResponse resp;
    grpc::ClientContext ctx;
    services::SetDeadline(ctx, kRpcTimeout);
    grpc::Status s = store.QueryTask(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      missing.push_back(task);
      continue;
    }
    if (!s.ok()) return services::FromGrpcStatus(s);
    const bool have =
        std::any_of(resp.histories().begin(), resp.histories().end(),
                    [&](const v1::HistoryMeta& m) {
                      return m.source() == source && m.complete();
                    });
    if (!have) missing.push_back(task);
  }
  return missing;
}

absl::StatusOr<v1::StatsResponse> StoreStats(v1::StoreService::Stub& store) {
  v1::StatsResponse resp;
  grpc::ClientContext ctx;
  services::SetDeadline(ctx, kRpcTimeout);
  grpc::Status s = store.Stats(&ctx, v1::StatsRequest(), &resp);
  if (!s.ok()) return services::FromGrpcStatus(s);
  return resp;
}

// The newest checkpoint file in a learner's checkpoint directory (names are
// ckpt-<zero-padded step>.pt, so the last name in order is the newest).
absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir) {
  std::string latest;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("ckpt-", 0) == 0 && entry.path().extension() == ".pt" &&
        name > fs::path(latest).filename().string()) {
      latest = entry.path().string();
    }
  }
  if (latest.empty()) {
    return absl::NotFoundError(absl::StrCat("no checkpoint in ", dir));
  }
  return latest;
}

class Demo {
 public:
  explicit Demo(const DemoOptions& o)
      : o_(o), sup_(o.bin_dir, absl::StrCat(o.out_dir, "/logs")) {}

  absl::Status Run() {
    AD_RETURN_IF_ERROR(StartServices());
    AD_RETURN_IF_ERROR(GenerateData());
    // One AD checkpoint directory per source: a rerun with another --source
    // must not resume a model trained on different data.
    AD_RETURN_IF_ERROR(Train("learner-ad", o_.source, AdLabel(), o_.ad_steps));
    AD_RETURN_IF_ERROR(Train("learner-ed", "expert", "ed", o_.ed_steps));
    AD_RETURN_IF_ERROR(Evaluate());
    Stage("stopping services");
    sup_.StopAll(kStopGrace);
    return absl::OkStatus();
  }

  void StopAll() { sup_.StopAll(kStopGrace); }

 private:
  absl::Status StartServices() {
    Stage("starting services (env server, store, evaluator) on loopback");
    AD_ASSIGN_OR_RETURN(env_ports_, PickPorts());
    AD_ASSIGN_OR_RETURN(store_ports_, PickPorts());
    AD_ASSIGN_OR_RETURN(eval_ports_, PickPorts());
    AD_RETURN_IF_ERROR(sup_.Start("env-server", "ad-env-server",
                                  ServerArgs(env_ports_), true));
    std::vector<std::string> store_args = ServerArgs(store_ports_);
    store_args.push_back(absl::StrCat("--db=", o_.out_dir, "/store"));
    AD_RETURN_IF_ERROR(sup_.Start("store", "ad-store", store_args, true));
    std::vector<std::string> eval_args = ServerArgs(eval_ports_);
    eval_args.push_back(absl::StrCat("--output_dir=", o_.out_dir, "/eval"));
    eval_args.push_back(absl::StrCat("--threads=", o_.threads));
    AD_RETURN_IF_ERROR(
        sup_.Start("evaluator", "ad-evaluator", eval_args, true));
    AD_RETURN_IF_ERROR(WaitHealthy(sup_, "env-server", env_ports_.grpc));
    AD_RETURN_IF_ERROR(WaitHealthy(sup_, "store", store_ports_.grpc));
    AD_RETURN_IF_ERROR(WaitHealthy(sup_, "evaluator", eval_ports_.grpc));
    store_ = v1::StoreService::NewStub(
        services::MakeChannel(Loopback(store_ports_.grpc)));
    return absl::OkStatus();
  }

  // Source RL (and the expert's histories for ED) on the train goals, into
  // the store; tasks that already have a complete history are skipped.
  absl::Status GenerateData() {
    AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                        envs::FindFamily(o_.env));
    envs::TaskSplit split = family->Split(o_.train_fraction, o_.split_seed);
    split.train =
        envs::EvenlySpacedTasks(std::move(split.train), o_.max_train_tasks);
    // The evaluator subsets the held-out split by the same rule
    // (EvalSpec.max_tasks), so the source's curve covers the evaluated goals.
    split.test =
        envs::EvenlySpacedTasks(std::move(split.test), o_.max_test_tasks);
    Stage(absl::StrFormat(
        "source RL: %s on %d train goals of %s (%d held out for evaluation)",
        o_.source, split.train.size(), o_.env, split.test.size()));
    // The source on the held-out goals too: its own learning curve there is
    // the "source" baseline (the learner samples the train split only).
    struct Run {
      std::string source;
      int processes;
      const std::vector<std::string>* tasks;
      std::string label;
      std::string set;  // a preset override (`--set`), empty for none
    };
    // The preset says how many streams and episodes each goal gets, so the
    // progress line can show an ETA: it counts the store's transitions
    // against what is there now plus what the actors started here will add.
    AD_ASSIGN_OR_RETURN(const actors::SourceParams params,
                        actors::SourceParams::LoadPreset(o_.actor_preset));
    AD_ASSIGN_OR_RETURN(auto stats_before, StoreStats(*store_));
    uint64_t expected_transitions = stats_before.transitions();
    std::vector<std::string> jobs;
    // The source's own curve needs a few streams per held-out goal, not all.
    const std::string heldout_set =
        absl::StrCat(o_.source, ".streams=", o_.heldout_streams);
    for (const Run& run :
         {Run{o_.source, o_.actors, &split.train, "train", ""},
          Run{"expert", 1, &split.train, "expert", ""},
          Run{o_.source, 1, &split.test, "heldout", heldout_set}}) {
      AD_ASSIGN_OR_RETURN(
          std::vector<std::string> missing,
          MissingTasks(*store_, o_.env, *run.tasks, run.source));
      if (missing.empty()) {
        std::fprintf(stderr,
                     "   %s on %s goals: every goal already has a complete "
                     "history in the store; reusing it\n",
                     run.source.c_str(), run.label.c_str());
        continue;
      }
      actors::SourceParams run_params = params;
      if (!run.set.empty()) AD_RETURN_IF_ERROR(run_params.Override(run.set));
      AD_ASSIGN_OR_RETURN(const actors::SourceBudget budget,
                          actors::BudgetFor(run.source, run_params));
      expected_transitions += static_cast<uint64_t>(missing.size()) *
                              budget.streams * budget.episodes *
                              family->space().episode_len;
      const int n = std::min<int>(run.processes, missing.size());
      for (int a = 0; a < n; ++a) {
        std::vector<std::string> mine;
        for (size_t i = a; i < missing.size(); i += n)
          mine.push_back(missing[i]);
        const std::string name = absl::StrCat("actor-", run.label, "-", a);
        AD_ASSIGN_OR_RETURN(Ports ports, PickPorts());
        std::vector<std::string> args = {
            absl::StrCat("--family=", o_.env),
            absl::StrCat("--tasks=", absl::StrJoin(mine, " ")),
            absl::StrCat("--source=", run.source),
            absl::StrCat("--preset=", o_.actor_preset),
            absl::StrCat("--env=", Loopback(env_ports_.grpc)),
            absl::StrCat("--sink=store:", Loopback(store_ports_.grpc)),
            absl::StrCat("--metrics_port=", ports.metrics),
            "--parallel_tasks=1",
            "--torch_threads=1"};
        if (!run.set.empty()) args.push_back(absl::StrCat("--set=", run.set));
        AD_RETURN_IF_ERROR(
            sup_.Start(name, "ad-actor", args, /*daemon=*/false));
        std::fprintf(stderr, "   %s: %zu goals (log %s)\n", name.c_str(),
                     mine.size(), sup_.LogPath(name).c_str());
        jobs.push_back(name);
      }
    }
    Progress progress("source RL", "transitions", expected_transitions);
    auto tick = [&] {
      auto stats = StoreStats(*store_);
      if (!stats.ok()) return;
      progress.Update(
          stats->transitions(),
          absl::StrFormat("%d histories (%d complete) in the store",
                          stats->histories(), stats->complete_histories()));
    };
    for (const std::string& job : jobs) {
      AD_RETURN_IF_ERROR(sup_.WaitForJob(job, o_.stage_timeout, tick));
    }
    tick();
    progress.Finish();
    return absl::OkStatus();
  }

  absl::Status Train(const std::string& name, const std::string& source,
                     const std::string& label, int64_t steps) {
    // ED's expert histories do not improve: no subsampling.
    const int stride =
        label == "ed"
            ? 0
            : (o_.episode_stride > 0 ? o_.episode_stride
                                     : DefaultEpisodeStride(o_.env, source));
    Stage(absl::StrFormat(
        "learner: %s on %s histories (checkpoints in %s)",
        label == "ed" ? "Expert Distillation" : "Algorithm Distillation",
        source, CheckpointDir(label)));
    AD_ASSIGN_OR_RETURN(Ports ports, PickPorts());
    std::vector<std::string> args = ServerArgs(ports);
    args.insert(
        args.end(),
        {absl::StrCat("--store=", Loopback(store_ports_.grpc)),
         absl::StrCat("--preset=", o_.learner_preset),
         absl::StrCat(
             "--set=data.env=", o_.env, ";data.source=", source,
             steps > 0 ? absl::StrCat(";train.steps=", steps) : "",
             stride > 0 ? absl::StrCat(";data.episode_stride=", stride) : "",
             o_.learner_set.empty() ? "" : absl::StrCat(";", o_.learner_set)),
         absl::StrCat("--checkpoint_dir=", CheckpointDir(label)),
         absl::StrCat("--threads=", o_.threads), "--exit_when_done",
         "--progress=false"});
    AD_RETURN_IF_ERROR(sup_.Start(name, "ad-learner", args, /*daemon=*/false));
    auto learner = v1::LearnerService::NewStub(
        services::MakeChannel(Loopback(ports.grpc)));
    std::unique_ptr<Progress> progress;
    auto tick = [&] {
      v1::LearnerStatusResponse st;
      grpc::ClientContext ctx;
      services::SetDeadline(ctx, absl::Seconds(1));
      if (!learner->Status(&ctx, v1::LearnerStatusRequest(), &st).ok()) return;
      if (progress == nullptr) {
        progress = std::make_unique<Progress>(absl::StrCat("learner ", label),
                                              "steps", st.total_steps());
      }
      progress->Update(
          st.step(),
          absl::StrFormat("loss %.3f acc %.3f lr %.2e %.0f tok/s "
                          "wait %.1f%% %s",
                          st.loss(), st.action_accuracy(), st.learning_rate(),
                          st.tokens_per_second(),
                          100 * st.sample_wait_fraction(), st.device()));
    };
    AD_RETURN_IF_ERROR(sup_.WaitForJob(name, o_.stage_timeout, tick));
    if (progress != nullptr) progress->Finish();
    std::fprintf(stderr, "   %s\n", sup_.LogTail(name, 1).c_str());
    return absl::OkStatus();
  }

  absl::Status Evaluate() {
    Stage(absl::StrFormat(
        "evaluator: in-context rollouts on held-out %s goals, weights frozen",
        o_.env));
    auto evaluator = v1::EvaluatorService::NewStub(
        services::MakeChannel(Loopback(eval_ports_.grpc)));
    v1::EvaluateRequest req;
    v1::EvalSpec& spec = *req.mutable_spec();
    AD_ASSIGN_OR_RETURN(const std::string ad,
                        LatestCheckpoint(CheckpointDir(AdLabel())));
    AD_ASSIGN_OR_RETURN(const std::string ed,
                        LatestCheckpoint(CheckpointDir("ed")));
    spec.set_checkpoint(ad);
    spec.set_ed_checkpoint(ed);
    spec.set_env(o_.env);
    spec.set_tasks("test");
    spec.set_max_tasks(o_.max_test_tasks);
    spec.set_seeds(o_.eval_seeds);
    spec.set_episodes(o_.eval_episodes);
    spec.set_store(Loopback(store_ports_.grpc));
    spec.set_train_fraction(o_.train_fraction);
    spec.set_split_seed(o_.split_seed);
    spec.set_out_dir(absl::StrCat(o_.out_dir, "/results"));
    spec.set_source(o_.source);
    // Sampling, not argmax: AD imitates a learning (exploring) source, and a
    // greedy copy of it gets stuck repeating one path.
    spec.set_temperature(o_.temperature);
    spec.set_window(o_.window);
    for (const char* b : {"random", "optimal", "heuristic", "source", "ed"}) {
      spec.add_baselines(b);
    }
    grpc::ClientContext ctx;
    services::SetDeadline(ctx, o_.stage_timeout);
    auto reader = evaluator->Evaluate(&ctx, req);
    v1::EvalProgress msg, last;
    std::unique_ptr<Progress> progress;
    std::string stage;
    while (reader->Read(&msg)) {
      if (absl::Status s = sup_.CheckAlive(); !s.ok()) {
        ctx.TryCancel();
        return s;
      }
      if (msg.stage() != stage && msg.episodes_total() > 0) {
        if (progress != nullptr) progress->Finish();
        stage = msg.stage();
        progress = std::make_unique<Progress>(
            absl::StrFormat("eval %d/%d %s", msg.stages_done() + 1,
                            msg.stages_total(), stage),
            "episodes", msg.episodes_total());
      }
      if (progress != nullptr) progress->Update(msg.episodes_done());
      last = msg;
    }
    if (progress != nullptr) progress->Finish();
    AD_RETURN_IF_ERROR(services::FromGrpcStatus(reader->Finish()));
    std::fprintf(stderr, "\n%s\n", last.summary().c_str());
    std::fprintf(stderr, "results (CSV, JSON, PNG): %s\n",
                 last.output_dir().c_str());
    return absl::OkStatus();
  }

  std::string AdLabel() const { return absl::StrCat("ad-", o_.source); }

  std::string CheckpointDir(const std::string& label) const {
    return absl::StrCat(o_.out_dir, "/checkpoints/", label);
  }

  const DemoOptions& o_;
  Supervisor sup_;
  Ports env_ports_, store_ports_, eval_ports_;
  std::unique_ptr<v1::StoreService::Stub> store_;
};

}  // namespace

int DefaultEpisodeStride(const std::string& env, const std::string& source) {
  // Measured in docs/science.md (held-out Dark Room, episodes 31-40).
  // rmax learns a task in a few episodes: on Dark Room strides 1, 2 and 4
  // gave 92%, 94% and 88-91%; the other families' presets subsample for
  // tabular Q's slow histories, rmax's are kept whole there.
  if (source == "rmax") return env == "darkroom" ? 2 : 1;
  if (env != "darkroom") return 0;
  if (source == "a3c") return 32;
  if (source == "dqn") return 16;
  return 0;
}

absl::StatusOr<EnvDemoDefaults> DemoDefaultsFor(const std::string& env) {
  EnvDemoDefaults d;
  if (env == "darkroom") {
    d.source = "a3c";
    d.actor_preset = d.learner_preset = "cpu-demo";
  } else if (env == "darkroom_hard" || env == "key_to_door") {
    d.source = "tabular_q";
    d.actor_preset = d.learner_preset = absl::StrCat("cpu-", env);
  } else if (env == "bandit") {
    d.source = "ucb";
    d.actor_preset = d.learner_preset = "cpu-bandit";
    d.eval_episodes = 100;
  } else if (env == "watermaze") {
    d.source = "dqn";
    d.actor_preset = d.learner_preset = "cpu-watermaze-ad";
    d.max_train_tasks = 20;
    d.max_test_tasks = 8;
    d.eval_seeds = 6;
    d.heldout_streams = 2;
    d.ed_steps = 200;
    d.stage_timeout = absl::Minutes(90);
  } else {
    return absl::NotFoundError(absl::StrCat(
        "ad-demo has no settings for env '", env,
        "'; known: darkroom, darkroom_hard, key_to_door, bandit, watermaze"));
  }
  return d;
}

absl::Status ApplyEnvDefaults(DemoOptions& o) {
  AD_ASSIGN_OR_RETURN(const EnvDemoDefaults d, DemoDefaultsFor(o.env));
  if (o.source.empty()) o.source = d.source;
  if (o.actor_preset.empty()) o.actor_preset = d.actor_preset;
  if (o.learner_preset.empty()) o.learner_preset = d.learner_preset;
  if (o.max_train_tasks == -1) o.max_train_tasks = d.max_train_tasks;
  if (o.max_test_tasks == -1) o.max_test_tasks = d.max_test_tasks;
  if (o.eval_seeds == -1) o.eval_seeds = d.eval_seeds;
  if (o.eval_episodes == -1) o.eval_episodes = d.eval_episodes;
  if (o.heldout_streams == -1) o.heldout_streams = d.heldout_streams;
  if (o.ed_steps == -1) o.ed_steps = d.ed_steps;
  if (o.stage_timeout == absl::ZeroDuration()) {
    o.stage_timeout = d.stage_timeout;
  }
  return absl::OkStatus();
}

absl::Status DemoOptions::Validate() const {
  if (out_dir.empty()) return absl::InvalidArgumentError("out_dir is empty");
  if (source.empty() || actor_preset.empty() || learner_preset.empty()) {
    return absl::InvalidArgumentError(
        "source, actor_preset and learner_preset must be set (see "
        "ApplyEnvDefaults)");
  }
  if (bin_dir.empty()) return absl::InvalidArgumentError("bin_dir is empty");
  if (actors < 1 || actors > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("actors = ", actors, " is outside [1, 64]"));
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads = ", threads, " < 1"));
  }
  if (!(train_fraction > 0 && train_fraction < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train_fraction = ", train_fraction, " is outside (0, 1)"));
  }
  if (eval_seeds < 1 || eval_episodes < 1) {
    return absl::InvalidArgumentError(
        "eval_seeds and eval_episodes must be >= 1");
  }
  if (episode_stride < 0 || episode_stride > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "episode_stride = ", episode_stride, " is outside [0, 1000]"));
  }
  if (heldout_streams < 1 || heldout_streams > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "heldout_streams = ", heldout_streams, " is outside [1, 1024]"));
  }
  if (max_train_tasks < 0 || max_test_tasks < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_train_tasks = ", max_train_tasks, " and max_test_tasks = ",
        max_test_tasks, " must be >= 0 (0: every task of the split)"));
  }
  if (stage_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("stage_timeout = ", absl::FormatDuration(stage_timeout),
                     " must be positive"));
  }
  if (ad_steps < 0 || ed_steps < 0) {
    return absl::InvalidArgumentError("ad_steps and ed_steps must be >= 0");
  }
  return envs::FindFamily(env).status();
}

absl::Status RunDemo(DemoOptions options) {
  AD_RETURN_IF_ERROR(ApplyEnvDefaults(options));
  AD_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  fs::create_directories(fs::path(options.out_dir) / "logs", ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", options.out_dir,
                                            "/logs: ", ec.message()));
  }
  const absl::Time start = absl::Now();
  Demo demo(options);
  absl::Status status = demo.Run();
  if (!status.ok()) {
    std::fprintf(stderr, "\ndemo failed: %s\nstopping every process\n",
                 std::string(status.message()).c_str());
    demo.StopAll();
    return status;
  }
  std::fprintf(stderr, "demo finished in %s; everything is under %s\n",
               Progress::FormatDuration(absl::Now() - start).c_str(),
               options.out_dir.c_str());
  return absl::OkStatus();
}

}  // namespace ad::demo
