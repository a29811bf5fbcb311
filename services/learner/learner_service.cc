#include "services/learner/learner_service.h"

#include <fstream>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/common/status_convert.h"

namespace ad::services::learner {
namespace {

ad::learner::CheckpointDir OpenDir(const std::string& directory, int keep) {
  auto dir = ad::learner::CheckpointDir::Open({directory, keep});
  CHECK(dir.ok()) << dir.status();
  return *std::move(dir);
}

}  // namespace

absl::Status LearnerServiceImpl::Options::Validate() const {
  if (checkpoint_dir.empty()) {
    return absl::InvalidArgumentError("checkpoint_dir: must be set");
  }
  if (chunk_bytes < 1024 || chunk_bytes > (32 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_bytes = ", chunk_bytes, ": must be in [1024, 33554432]"));
  }
  return absl::OkStatus();
}

LearnerServiceImpl::LearnerServiceImpl(const Options& options,
                                       prometheus::Registry* registry)
    : options_(options),
      dir_(OpenDir(options.checkpoint_dir, options.keep)),
      rpc_metrics_(*registry, "learner"),
      step_seconds_(AddHistogram(*registry, "ad_learner_step_seconds",
                                 "Wall time of one training step, data wait "
                                 "included",
                                 LatencyBuckets())),
      loss_(AddGauge(*registry, "ad_learner_loss",
                     "Training loss (NLL of the next action) of the last "
                     "step")),
      accuracy_(AddGauge(*registry, "ad_learner_action_accuracy",
                         "Fraction of actions predicted by argmax, last step")),
      learning_rate_(AddGauge(*registry, "ad_learner_learning_rate",
                              "Learning rate of the last step")),
      tokens_per_second_(AddGauge(*registry, "ad_learner_tokens_per_second",
                                  "Training tokens (transitions) per second, "
                                  "recent steps")),
      sample_wait_fraction_(
          AddGauge(*registry, "ad_learner_sample_wait_fraction",
                   "Fraction of wall time the step waited for data, recent "
                   "steps")),
      step_(
          AddGauge(*registry, "ad_learner_step", "Optimizer steps completed")),
      checkpoints_written_(AddCounter(*registry,
                                      "ad_learner_checkpoints_written_total",
                                      "Checkpoints written by this process")) {
  CHECK(options_.Validate().ok()) << options_.Validate();
  status_.set_device(options_.device);
}

void LearnerServiceImpl::OnStep(const ad::learner::LoopStats& stats) {
  step_seconds_.Observe(stats.step_seconds);
  loss_.Set(stats.step.loss);
  accuracy_.Set(stats.step.accuracy);
  learning_rate_.Set(stats.step.learning_rate);
  tokens_per_second_.Set(stats.tokens_per_second);
  sample_wait_fraction_.Set(stats.sample_wait_fraction);
  step_.Set(static_cast<double>(stats.step.step));
  absl::MutexLock lock(&mu_);
  status_.set_step(stats.step.step);
  status_.set_total_steps(stats.total_steps);
  status_.set_loss(static_cast<float>(stats.step.loss));
  status_.set_action_accuracy(static_cast<float>(stats.step.accuracy));
  status_.set_learning_rate(static_cast<float>(stats.step.learning_rate));
  status_.set_tokens_per_second(stats.tokens_per_second);
  status_.set_sample_wait_fraction(stats.sample_wait_fraction);
}

void LearnerServiceImpl::OnCheckpoint(int64_t step) {
  checkpoints_written_.Increment();
  absl::MutexLock lock(&mu_);
  status_.set_latest_checkpoint_step(step);
}

void LearnerServiceImpl::SetStartingPoint(int64_t step, int64_t total_steps,
                                          int64_t latest_checkpoint_step) {
  step_.Set(static_cast<double>(step));
  absl::MutexLock lock(&mu_);
  status_.set_step(step);
  status_.set_total_steps(total_steps);
  status_.set_latest_checkpoint_step(latest_checkpoint_step);
}

grpc::Status LearnerServiceImpl::Status(
    grpc::ServerContext* context, const ad::v1::LearnerStatusRequest* request,
    ad::v1::LearnerStatusResponse* response) {
  RpcTimer timer(&rpc_metrics_, "Status");
  absl::MutexLock lock(&mu_);
  *response = status_;
  return timer.Finish(grpc::Status::OK);
}

grpc::Status LearnerServiceImpl::ListCheckpoints(
    grpc::ServerContext* context, const ad::v1::ListCheckpointsRequest* request,
    ad::v1::ListCheckpointsResponse* response) {
  RpcTimer timer(&rpc_metrics_, "ListCheckpoints");
  auto files = dir_.List();
  if (!files.ok()) return timer.Finish(ToGrpcStatus(files.status()));
  for (const auto& f : *files) {
    ad::v1::CheckpointInfo* info = response->add_checkpoints();
    info->set_step(f.step);
    info->set_name(f.path.substr(f.path.find_last_of('/') + 1));
    info->set_bytes(f.bytes);
    info->set_preset(options_.preset);
  }
  return timer.Finish(grpc::Status::OK);
}

grpc::Status LearnerServiceImpl::GetCheckpoint(
    grpc::ServerContext* context, const ad::v1::GetCheckpointRequest* request,
    grpc::ServerWriter<ad::v1::CheckpointChunk>* writer) {
  RpcTimer timer(&rpc_metrics_, "GetCheckpoint");
  if (request->step() >
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("step ", request->step(),
                     " is over the largest step a checkpoint can have (",
                     std::numeric_limits<int64_t>::max(),
                     "); 0 asks for the "
                     "latest")));
  }
  absl::StatusOr<ad::learner::CheckpointFile> file;
  if (request->step() == 0) {
    auto latest = dir_.Latest();
    if (!latest.ok()) return timer.Finish(ToGrpcStatus(latest.status()));
    if (!latest->has_value()) {
      return timer.Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                       "no checkpoint has been written yet"));
    }
    file = **latest;
  } else {
    file = dir_.Find(static_cast<int64_t>(request->step()));
  }
  if (!file.ok()) return timer.Finish(ToGrpcStatus(file.status()));
  std::ifstream in(file->path, std::ios::binary);
  if (!in) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("checkpoint of step ", file->step, " was just removed")));
  }
  ad::v1::CheckpointChunk chunk;
  ad::v1::CheckpointInfo* info = chunk.mutable_info();
  info->set_step(file->step);
  info->set_name(file->path.substr(file->path.find_last_of('/') + 1));
  info->set_bytes(file->bytes);
  info->set_preset(options_.preset);
  std::vector<char> buffer(options_.chunk_bytes);
  bool first = true;
  while (in || first) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0 && !first) break;
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    if (context->IsCancelled()) {
      return timer.Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled"));
    }
    if (!writer->Write(chunk)) {
      return timer.Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       "client went away mid-stream"));
    }
    chunk.clear_info();
    first = false;
  }
  return timer.Finish(grpc::Status::OK);
}

}  // namespace ad::services::learner
