#include "services/env/remote_env.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "common/obs_bytes.h"
#include "envs/registry.h"
#include "glog/logging.h"
#include "services/common/status_convert.h"

namespace ad::services {
namespace {

absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

envs::SpaceSpec SpaceFromProto(const ad::v1::SpaceSpec& proto) {
  envs::SpaceSpec space;
  space.family = proto.family();
  space.obs_dim = static_cast<int>(proto.obs_dim());
  space.obs_high.assign(proto.obs_high().begin(), proto.obs_high().end());
  space.num_actions = static_cast<int>(proto.num_actions());
  space.episode_len = static_cast<int>(proto.episode_len());
  space.description = proto.description();
  space.obs_bytes = proto.obs_bytes();
  return space;
}

absl::Status CheckSize(std::string_view field, size_t size, size_t want) {
  if (size == want) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(Sv(field), " has ", size, " entries; want ", want));
}

}  // namespace

absl::Status RemoteEnvOptions::Validate() const {
  if (open_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "RemoteEnvOptions.open_timeout must be > 0");
  }
  if (session_timeout < open_timeout) {
    return absl::InvalidArgumentError(
        "RemoteEnvOptions.session_timeout must be >= open_timeout");
  }
  return channel.Validate();
}

absl::StatusOr<std::unique_ptr<RemoteBatchedEnv>> RemoteBatchedEnv::Open(
    const std::string& address, std::string_view family,
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed,
    const RemoteEnvOptions& options) {
  if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
  if (num_envs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_envs must be >= 1, got ", num_envs));
  }
  if (task_ids.size() != 1 &&
      task_ids.size() != static_cast<size_t>(num_envs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("task_ids has ", task_ids.size(),
                     " entries; want 1 or num_envs (", num_envs, ")"));
  }
  std::unique_ptr<RemoteBatchedEnv> env(new RemoteBatchedEnv);
  env->num_envs_ = num_envs;
  for (int i = 0; i < num_envs; ++i) {
    env->task_ids_.push_back(task_ids[task_ids.size() == 1 ? 0 : i]);
  }
  env->channel_ = MakeChannel(address, options.channel);
  env->stub_ = ad::v1::EnvService::NewStub(env->channel_);

  ad::v1::OpenSession* open = env->request_.mutable_open();
  open->set_family(std::string(family));
  for (const std::string& id : task_ids) open->add_task_ids(id);
  open->set_num_instances(static_cast<uint32_t>(num_envs));
  open->set_seed(seed);

  const absl::Time open_deadline = absl::Now() + options.open_timeout;
  BackoffOptions backoff;
  backoff.total = options.open_timeout;
  backoff.max_attempts = 1 << 20;  // bounded by time
  const absl::Status opened = RetryWithBackoff(backoff, [&]() -> absl::Status {
    env->context_ = std::make_unique<grpc::ClientContext>();
    SetDeadline(*env->context_, options.session_timeout);
    env->stream_ = env->stub_->Session(env->context_.get());
    // The stream's deadline is the session's; the opening exchange gets
    // open_timeout, enforced by cancelling the call.
    absl::Notification answered;
    grpc::ClientContext* context = env->context_.get();
    std::thread watchdog([&answered, context, open_deadline] {
      if (!answered.WaitForNotificationWithDeadline(open_deadline)) {
        context->TryCancel();
      }
    });
    const bool ok = env->stream_->Write(env->request_) &&
                    env->stream_->Read(&env->response_);
    answered.Notify();
    watchdog.join();
    if (ok) return absl::OkStatus();
    absl::Status status = FromGrpcStatus(env->stream_->Finish());
    env->stream_.reset();
    if (status.ok()) {
      status = absl::UnavailableError("server closed the session at open");
    }
    if (absl::Now() >= open_deadline &&
        status.code() == absl::StatusCode::kCancelled) {
      status = absl::DeadlineExceededError("no answer to open");
    }
    return status;
  });
  if (!opened.ok()) {
    return absl::Status(opened.code(), absl::StrCat("env server ", address,
                                                    ": ", opened.message()));
  }
  env->space_ = SpaceFromProto(env->response_.space());
  const ad::v1::StepBatch& first = env->response_.batch();
  const absl::Status sizes =
      CheckObsFields("opening batch", first.obs_size(), first.obs_u8().size(),
                     static_cast<size_t>(num_envs) * env->space_.obs_dim);
  if (!sizes.ok()) return absl::InternalError(sizes.message());
  env->request_.mutable_step();  // the common case from now on
  return env;
}

RemoteBatchedEnv::~RemoteBatchedEnv() {
  if (stream_ == nullptr) return;  // already finished
  stream_->WritesDone();
  const grpc::Status status = stream_->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    LOG(WARNING) << "env session ended with " << status.error_code() << ": "
                 << status.error_message();
  }
}

const std::string& RemoteBatchedEnv::task_id(int i) const {
  CHECK(i >= 0 && i < num_envs_) << "task_id(" << i << ") of " << num_envs_;
  return task_ids_[static_cast<size_t>(i)];
}

absl::Status RemoteBatchedEnv::RoundTrip() const {
  if (!broken_.ok()) return broken_;
  if (!stream_->Write(request_) || !stream_->Read(&response_)) {
    absl::Status status = FromGrpcStatus(stream_->Finish());
    stream_.reset();
    broken_ = absl::UnavailableError(absl::StrCat(
        "env session broken: ",
        status.ok() ? "server ended the stream"
                    : absl::StrCat(absl::StatusCodeToString(status.code()),
                                   ": ", status.message())));
    return broken_;
  }
  if (response_.has_error()) {
    return absl::Status(static_cast<absl::StatusCode>(response_.error().code()),
                        response_.error().message());
  }
  return absl::OkStatus();
}

absl::Status RemoteBatchedEnv::CopyObs(absl::Span<int32_t> obs) const {
  const ad::v1::StepBatch& batch = response_.batch();
  if (absl::Status s = CheckObsFields("batch", batch.obs_size(),
                                      batch.obs_u8().size(), obs.size());
      !s.ok()) {
    return absl::InternalError(absl::StrCat("server sent ", s.message()));
  }
  if (!batch.obs_u8().empty()) {  // a pixel family: one byte per component
    ObsFromBytes(batch.obs_u8(), obs);
  } else {
    std::memcpy(obs.data(), batch.obs().data(), obs.size() * sizeof(int32_t));
  }
  return absl::OkStatus();
}

absl::Status RemoteBatchedEnv::Reset(absl::Span<int32_t> obs) {
  if (absl::Status s = CheckSize(
          "obs", obs.size(), static_cast<size_t>(num_envs_) * space_.obs_dim);
      !s.ok()) {
    return s;
  }
  if (!broken_.ok()) return broken_;
  if (first_reset_pending_) {
    // The opening reset, still in response_.
    first_reset_pending_ = false;
    return CopyObs(obs);
  }
  request_.mutable_reset();
  const absl::Status status = RoundTrip();
  request_.mutable_step();
  if (!status.ok()) return status;
  return CopyObs(obs);
}

absl::Status RemoteBatchedEnv::Step(absl::Span<const int32_t> actions,
                                    const envs::StepOutput& out) {
  const size_t n = static_cast<size_t>(num_envs_);
  for (const absl::Status& s :
       {CheckSize("actions", actions.size(), n),
        CheckSize("out.obs", out.obs.size(), n * space_.obs_dim),
        CheckSize("out.rewards", out.rewards.size(), n),
        CheckSize("out.dones", out.dones.size(), n)}) {
    if (!s.ok()) return s;
  }
  first_reset_pending_ = false;
  google::protobuf::RepeatedField<int32_t>* wire =
      request_.mutable_step()->mutable_actions();
  wire->Resize(static_cast<int>(n), 0);
  std::memcpy(wire->mutable_data(), actions.data(), n * sizeof(int32_t));
  if (absl::Status status = RoundTrip(); !status.ok()) return status;

  const ad::v1::StepBatch& batch = response_.batch();
  if (static_cast<size_t>(batch.rewards_size()) != n ||
      batch.dones().size() != n) {
    return absl::InternalError(
        absl::StrCat("server sent ", batch.rewards_size(), " rewards and ",
                     batch.dones().size(), " dones, want ", n));
  }
  if (absl::Status status = CopyObs(out.obs); !status.ok()) return status;
  std::memcpy(out.rewards.data(), batch.rewards().data(), n * sizeof(float));
  std::memcpy(out.dones.data(), batch.dones().data(), n);
  return absl::OkStatus();
}

absl::Status RemoteBatchedEnv::ExpertActions(
    absl::Span<int32_t> actions) const {
  if (absl::Status s =
          CheckSize("actions", actions.size(), static_cast<size_t>(num_envs_));
      !s.ok()) {
    return s;
  }
  request_.mutable_expert();
  const absl::Status status = RoundTrip();
  request_.mutable_step();
  if (!status.ok()) return status;
  const auto& got = response_.expert_actions();
  if (static_cast<size_t>(got.size()) != actions.size()) {
    return absl::InternalError(absl::StrCat(
        "server sent ", got.size(), " expert actions, want ", actions.size()));
  }
  std::copy(got.begin(), got.end(), actions.begin());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<envs::BatchedEnv>> MakeEnv(
    std::string_view location, std::string_view family,
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed,
    const RemoteEnvOptions& options) {
  if (location.empty()) {
    return absl::InvalidArgumentError(
        "env location is empty; want \"local\" or \"host:port\"");
  }
  if (location == "local") {
    absl::StatusOr<const envs::EnvFamily*> found = envs::FindFamily(family);
    if (!found.ok()) return found.status();
    return (*found)->Make(task_ids, num_envs, seed);
  }
  absl::StatusOr<std::unique_ptr<RemoteBatchedEnv>> remote =
      RemoteBatchedEnv::Open(std::string(location), family, task_ids, num_envs,
                             seed, options);
  if (!remote.ok()) return remote.status();
  return std::unique_ptr<envs::BatchedEnv>(*std::move(remote));
}

}  // namespace ad::services
