#include "services/evaluator/evaluator_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ad/v1/learner.grpc.pb.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "learner/checkpoint.h"
#include "services/common/client.h"
#include "services/common/status_convert.h"
#include "services/learner/learner_client.h"
#include "services/store/store_history_source.h"

namespace ad::services {
namespace {

constexpr char kLatest[] = "learner:latest";

absl::Status Field(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("spec.", status.message()));
}

}  // namespace

absl::Status CheckpointSourceOptions::Validate() const {
  if (!checkpoint_dir.empty() && !learner.empty()) {
    return absl::InvalidArgumentError(
        "checkpoint_dir and learner are both set, want at most one");
  }
  if (!learner.empty() && cache_dir.empty()) {
    return absl::InvalidArgumentError(
        "cache_dir is empty, fetched checkpoints need a directory");
  }
  if (rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("rpc_timeout must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LatestCheckpoint>> FindLatestCheckpoint(
    const CheckpointSourceOptions& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  if (!options.checkpoint_dir.empty()) {
    ad::learner::CheckpointDir::Options dir_options;
    dir_options.directory = options.checkpoint_dir;
    AD_ASSIGN_OR_RETURN(ad::learner::CheckpointDir dir,
                        ad::learner::CheckpointDir::Open(dir_options));
    AD_ASSIGN_OR_RETURN(std::optional<ad::learner::CheckpointFile> latest,
                        dir.Latest());
    if (!latest.has_value()) return std::optional<LatestCheckpoint>();
    return std::optional<LatestCheckpoint>(
        LatestCheckpoint{latest->step, latest->path});
  }
  if (options.learner.empty()) {
    return absl::FailedPreconditionError(
        "no checkpoint source: start ad-evaluator with --checkpoint_dir or "
        "--learner to use learner:latest");
  }
  learner::LearnerClient::Options client_options;
  client_options.address = options.learner;
  client_options.rpc_timeout = options.rpc_timeout;
  AD_ASSIGN_OR_RETURN(std::unique_ptr<learner::LearnerClient> client,
                      learner::LearnerClient::Create(client_options));
  AD_ASSIGN_OR_RETURN(const ad::v1::ListCheckpointsResponse list,
                      client->ListCheckpoints());
  if (list.checkpoints().empty()) return std::optional<LatestCheckpoint>();
  int64_t step = 0;
  for (const auto& info : list.checkpoints()) {
    step = std::max<int64_t>(step, info.step());
  }
  std::filesystem::create_directories(options.cache_dir);
  const std::string path = (std::filesystem::path(options.cache_dir) /
                            absl::StrFormat("ckpt-%012d.pt", step))
                               .string();
  if (!std::filesystem::exists(path)) {
    AD_RETURN_IF_ERROR(client->FetchCheckpoint(step, path));
  }
  return std::optional<LatestCheckpoint>(LatestCheckpoint{step, path});
}

absl::Status EvaluatorServiceImpl::Options::Validate() const {
  if (output_dir.empty()) {
    return absl::InvalidArgumentError("output_dir is empty");
  }
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threads is %d, want >= 1", threads));
  }
  AD_RETURN_IF_ERROR(plot.Validate());
  return checkpoints.Validate();
}

EvaluatorServiceImpl::EvaluatorServiceImpl(const Options& options,
                                           prometheus::Registry& registry)
    : options_(options),
      rpc_metrics_(registry, "evaluator"),
      episodes_total_(AddCounter(
          registry, MetricName("evaluator", "rollout_episodes", "total"),
          "Episodes rolled out (per stage, counted once per episode of all "
          "rows)")) {}

absl::StatusOr<evaluator::EvalSpec> EvaluatorServiceImpl::SpecFromProto(
    const ad::v1::EvalSpec& proto, int64_t* checkpoint_step) {
  evaluator::EvalSpec spec;
  if (!proto.experiment().empty()) spec.experiment = proto.experiment();
  spec.checkpoint = proto.checkpoint();
  if (spec.checkpoint == kLatest) {
    AD_ASSIGN_OR_RETURN(std::optional<LatestCheckpoint> latest,
                        FindLatestCheckpoint(options_.checkpoints));
    if (!latest.has_value()) {
      return absl::FailedPreconditionError(
          "spec.checkpoint is learner:latest but the learner has no "
          "checkpoint yet");
    }
    spec.checkpoint = latest->path;
    if (checkpoint_step != nullptr) *checkpoint_step = latest->step;
  }
  spec.ed_checkpoint = proto.ed_checkpoint();
  if (!proto.env().empty()) spec.env = proto.env();
  spec.train_env = proto.train_env();
  if (!proto.task_ids().empty()) {
    spec.tasks = absl::StrJoin(proto.task_ids(), ",");
  } else if (!proto.tasks().empty()) {
    spec.tasks = proto.tasks();
  }
  if (proto.train_fraction() != 0) spec.train_fraction = proto.train_fraction();
  spec.split_seed = proto.split_seed();
  spec.max_tasks = static_cast<int>(proto.max_tasks());
  if (proto.seeds() != 0) spec.seeds = static_cast<int>(proto.seeds());
  if (proto.episodes() != 0) spec.episodes = static_cast<int>(proto.episodes());
  spec.context_len = static_cast<int>(proto.context_len());
  spec.temperature = proto.temperature();
  if (!proto.window().empty()) spec.window = proto.window();
  spec.source = proto.source();
  if (!proto.baselines().empty()) {
    spec.baselines.assign(proto.baselines().begin(), proto.baselines().end());
  }
  spec.store = proto.store();
  spec.context_lens.assign(proto.context_lens().begin(),
                           proto.context_lens().end());
  spec.sweep_checkpoints.assign(proto.sweep_checkpoints().begin(),
                                proto.sweep_checkpoints().end());
  if (!proto.prompt_levels().empty()) {
    spec.prompt_levels.assign(proto.prompt_levels().begin(),
                              proto.prompt_levels().end());
  }
  if (proto.seed() != 0) spec.seed = proto.seed();
  spec.out_dir = !proto.out_dir().empty()
                     ? proto.out_dir()
                     : (std::filesystem::path(options_.output_dir) /
                        absl::StrFormat("eval-%06d", ++requests_))
                           .string();
  spec.threads = options_.threads;
  spec.plot_options = options_.plot;
  AD_RETURN_IF_ERROR(Field(spec.Validate()));
  return spec;
}

grpc::Status EvaluatorServiceImpl::Evaluate(
    grpc::ServerContext* context, const ad::v1::EvaluateRequest* request,
    grpc::ServerWriter<ad::v1::EvalProgress>* writer) {
  RpcTimer timer(&rpc_metrics_, "Evaluate");
  int64_t step = 0;
  absl::StatusOr<evaluator::EvalSpec> spec =
      SpecFromProto(request->spec(), &step);
  if (!spec.ok()) return timer.Finish(ToGrpcStatus(spec.status()));
  if (!run_mu_.TryLock()) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        "an evaluation is already running; retry when it has finished"));
  }
  absl::StatusOr<evaluator::Report> report;
  {
    evaluator::ExperimentHooks hooks;
    hooks.cancelled = [context] { return context->IsCancelled(); };
    hooks.open_store = store::StoreHistoryOpener();
    hooks.on_progress = [&](const std::string& stage, int done, int total,
                            int stages_done, int stages_total) {
      episodes_total_.Increment();
      ad::v1::EvalProgress progress;
      progress.set_stage(stage);
      progress.set_episodes_done(done);
      progress.set_episodes_total(total);
      progress.set_stages_done(stages_done);
      progress.set_stages_total(stages_total);
      progress.set_checkpoint_step(step);
      writer->Write(progress);
    };
    report = evaluator::RunExperiment(*spec, hooks);
    run_mu_.Unlock();
  }
  if (!report.ok()) return timer.Finish(ToGrpcStatus(report.status()));
  absl::Status written = evaluator::WriteExperimentOutputs(*spec, *report);
  if (!written.ok() &&
      written.code() != absl::StatusCode::kFailedPrecondition) {
    return timer.Finish(ToGrpcStatus(written));
  }
  ad::v1::EvalProgress final_message;
  final_message.set_output_dir(spec->out_dir);
  final_message.set_summary(evaluator::SummaryTable(*report));
  final_message.set_checkpoint_step(step);
  for (const evaluator::Panel& panel : report->panels) {
    for (const evaluator::Curve& curve : panel.curves) {
      ad::v1::MethodCurve* out = final_message.add_curves();
      out->set_method(curve.method);
      out->set_panel(panel.title);
      out->set_rows(static_cast<uint32_t>(curve.returns.size()));
      out->set_steps_per_episode(static_cast<float>(curve.steps_per_episode));
      out->set_optimal_return(static_cast<float>(panel.optimal));
      for (int e = 0; e < curve.Episodes(); ++e) {
        out->add_mean_return(static_cast<float>(curve.Mean(e)));
        out->add_std_return(static_cast<float>(curve.Std(e)));
      }
    }
  }
  writer->Write(final_message);
  return timer.Finish(grpc::Status::OK);
}

absl::StatusOr<evaluator::Report> EvaluatorServiceImpl::RunExclusive(
    const evaluator::EvalSpec& spec) {
  absl::MutexLock lock(&run_mu_);
  evaluator::ExperimentHooks hooks;
  hooks.open_store = store::StoreHistoryOpener();
  return evaluator::RunExperiment(spec, hooks);
}

absl::Status Watcher::Options::Validate() const {
  if (!checkpoints.enabled()) {
    return absl::InvalidArgumentError(
        "watch mode needs --checkpoint_dir or --learner");
  }
  AD_RETURN_IF_ERROR(checkpoints.Validate());
  if (poll <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("watch poll interval must be positive");
  }
  if (spec.experiment != "incontext") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "watch spec experiment is '%s', want incontext", spec.experiment));
  }
  return absl::OkStatus();
}

Watcher::Watcher(const Options& options, EvaluatorServiceImpl* service,
                 prometheus::Registry& registry)
    : options_(options),
      service_(service),
      step_gauge_(AddGauge(registry,
                           MetricName("evaluator", "latest_checkpoint_step"),
                           "Learner step of the newest evaluated checkpoint")),
      first_gauge_(AddGauge(
          registry, MetricName("evaluator", "latest_return_first_episodes"),
          "Mean AD return over episodes 1-3 on held-out tasks, newest "
          "checkpoint")),
      last_gauge_(AddGauge(
          registry, MetricName("evaluator", "latest_return_last_episodes"),
          "Mean AD return over the last 10 episodes on held-out tasks, "
          "newest checkpoint")),
      fraction_gauge_(AddGauge(
          registry,
          MetricName("evaluator", "latest_return_fraction_of_optimal"),
          "Last-10-episode AD return / optimal return, newest checkpoint")),
      evaluations_(AddCounter(
          registry, MetricName("evaluator", "watch_evaluations", "total"),
          "Checkpoints evaluated by the watcher")) {
  thread_ = std::thread([this] { Loop(); });
}

Watcher::~Watcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

absl::Status Watcher::EvaluateLatest() {
  AD_ASSIGN_OR_RETURN(std::optional<LatestCheckpoint> latest,
                      FindLatestCheckpoint(options_.checkpoints));
  if (!latest.has_value() || latest->step <= last_step_) {
    return absl::OkStatus();
  }
  evaluator::EvalSpec spec = options_.spec;
  spec.checkpoint = latest->path;
  spec.out_dir = (std::filesystem::path(options_.spec.out_dir) /
                  absl::StrFormat("step-%012d", latest->step))
                     .string();
  AD_ASSIGN_OR_RETURN(evaluator::Report report, service_->RunExclusive(spec));
  absl::Status written = evaluator::WriteExperimentOutputs(spec, report);
  if (!written.ok()) LOG(WARNING) << "watch outputs: " << written;
  const evaluator::Panel& panel = report.panels.at(0);
  const evaluator::Curve& ad = panel.curves.at(0);
  const int episodes = ad.Episodes();
  const double first = ad.WindowMean(1, 3);
  const double last = ad.WindowMean(episodes - 9, episodes);
  step_gauge_.Set(static_cast<double>(latest->step));
  first_gauge_.Set(first);
  last_gauge_.Set(last);
  if (panel.optimal > 0) fraction_gauge_.Set(last / panel.optimal);
  evaluations_.Increment();
  last_step_ = latest->step;
  LOG(INFO) << absl::StrFormat(
      "watch: checkpoint step %d: return episodes 1-3 %.2f, last 10 %.2f "
      "(optimal %.2f), curves in %s",
      latest->step, first, last, panel.optimal, spec.out_dir);
  return absl::OkStatus();
}

void Watcher::Loop() {
  while (true) {
    if (absl::Status s = EvaluateLatest(); !s.ok()) {
      LOG(WARNING) << "watch: " << s;
    }
    absl::MutexLock lock(&mu_);
    // Woken by the destructor setting stop_, or by the poll interval.
    mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.poll);
    if (stop_) return;
  }
}

}  // namespace ad::services
