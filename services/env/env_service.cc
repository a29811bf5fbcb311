#include "services/env/env_service.h"

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/text_escape.h"
#include "glog/logging.h"
#include "services/common/status_convert.h"

namespace ad::services {
namespace {

const char* KindName(ad::v1::EnvRequest::KindCase kind) {
  switch (kind) {
    case ad::v1::EnvRequest::kOpen:
      return "open";
    case ad::v1::EnvRequest::kStep:
      return "step";
    case ad::v1::EnvRequest::kReset:
      return "reset";
    case ad::v1::EnvRequest::kExpert:
      return "expert";
    default:
      return "nothing";
  }
}

}  // namespace

absl::Status EnvServiceImpl::Options::Validate() const {
  if (absl::Status status = limits.Validate(); !status.ok()) return status;
  if (max_sessions < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("EnvServiceImpl::Options.max_sessions must be >= 1, got ",
                     max_sessions));
  }
  if (idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "EnvServiceImpl::Options.idle_timeout must be > 0");
  }
  return absl::OkStatus();
}

EnvServiceImpl::EnvServiceImpl(const Options& options,
                               prometheus::Registry& registry)
    : options_(options),
      rpc_metrics_(registry, "env"),
      sessions_active_(
          AddGauge(registry, MetricName("env", "sessions_active"),
                   "Open environment sessions (stream and unary)")),
      steps_total_(
          AddCounter(registry, MetricName("env", "steps", "total"),
                     "Environment steps taken (instances x batched steps)")),
      stream_step_latency_(rpc_metrics_.Latency("Session.step")),
      id_rng_(std::random_device{}()) {
  const absl::Status valid = options_.Validate();
  CHECK(valid.ok()) << valid;
  reaper_ = std::thread([this] { ReapIdle(); });
}

EnvServiceImpl::~EnvServiceImpl() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  reaper_.join();
}

int EnvServiceImpl::active_sessions() const {
  absl::MutexLock lock(&mu_);
  return active_sessions_;
}

absl::Status EnvServiceImpl::AcquireSlot() {
  absl::MutexLock lock(&mu_);
  if (active_sessions_ >= options_.max_sessions) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this server already has ", active_sessions_,
                     " open sessions, its limit (--max_sessions)"));
  }
  ++active_sessions_;
  sessions_active_.Set(active_sessions_);
  return absl::OkStatus();
}

void EnvServiceImpl::ReleaseSlot() {
  absl::MutexLock lock(&mu_);
  --active_sessions_;
  sessions_active_.Set(active_sessions_);
}

grpc::Status EnvServiceImpl::Session(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<ad::v1::EnvResponse, ad::v1::EnvRequest>* stream) {
  RpcTimer timer(&rpc_metrics_, "Session");
  ad::v1::EnvRequest request;
  ad::v1::EnvResponse response;
  if (!stream->Read(&request)) {
    return timer.Finish(grpc::Status::OK);  // left before opening
  }
  if (request.kind_case() != ad::v1::EnvRequest::kOpen) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("the first request of a session must be `open`, got `",
                     KindName(request.kind_case()), "`")));
  }
  if (absl::Status slot = AcquireSlot(); !slot.ok()) {
    return timer.Finish(ToGrpcStatus(slot));
  }
  absl::Cleanup release = [this] { ReleaseSlot(); };

  absl::StatusOr<std::unique_ptr<EnvSession>> session =
      EnvSession::Open(request.open(), options_.limits,
                       response.mutable_space(), response.mutable_batch());
  if (!session.ok()) return timer.Finish(ToGrpcStatus(session.status()));
  VLOG(1) << "session opened by " << context->peer() << ": "
          << request.open().family() << " x" << (*session)->num_instances();
  if (!stream->Write(response)) {
    return timer.Finish(
        grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
  }
  response.clear_space();
  const int n = (*session)->num_instances();

  // One response per request, in order, until the client stops (half-close,
  // cancel or disconnect all end Read()).
  while (stream->Read(&request)) {
    const absl::Time start = absl::Now();
    absl::Status status;
    response.clear_error();
    switch (request.kind_case()) {
      case ad::v1::EnvRequest::kStep:
        response.clear_expert_actions();
        status = (*session)->Step(request.step(), response.mutable_batch());
        if (status.ok()) steps_total_.Increment(n);
        break;
      case ad::v1::EnvRequest::kReset:
        response.clear_expert_actions();
        status = (*session)->Reset(response.mutable_batch());
        break;
      case ad::v1::EnvRequest::kExpert:
        response.mutable_batch()->Clear();
        status = (*session)->ExpertActions(response.mutable_expert_actions());
        break;
      case ad::v1::EnvRequest::kOpen:
        status = absl::InvalidArgumentError(
            "open: this stream's session is already open; start another "
            "stream for another session");
        break;
      default:
        status = absl::InvalidArgumentError(
            "request.kind is not set; want step, reset or expert");
        break;
    }
    if (!status.ok()) {
      response.mutable_batch()->Clear();
      response.clear_expert_actions();
      response.mutable_error()->set_code(static_cast<int32_t>(status.code()));
      response.mutable_error()->set_message(std::string(status.message()));
    }
    if (!stream->Write(response)) break;
    if (request.kind_case() == ad::v1::EnvRequest::kStep) {
      stream_step_latency_.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    } else {
      rpc_metrics_
          .Latency(absl::StrCat("Session.", KindName(request.kind_case())))
          .Observe(absl::ToDoubleSeconds(absl::Now() - start));
    }
  }
  VLOG(1) << "session of " << context->peer() << " ended";
  return timer.Finish(grpc::Status::OK);
}

grpc::Status EnvServiceImpl::Reset(grpc::ServerContext* context,
                                   const ad::v1::ResetRequest* request,
                                   ad::v1::ResetResponse* response) {
  RpcTimer timer(&rpc_metrics_, "Reset");
  if (absl::Status slot = AcquireSlot(); !slot.ok()) {
    return timer.Finish(ToGrpcStatus(slot));
  }
  absl::StatusOr<std::unique_ptr<EnvSession>> env =
      EnvSession::Open(request->open(), options_.limits,
                       response->mutable_space(), response->mutable_batch());
  if (!env.ok()) {
    ReleaseSlot();
    return timer.Finish(ToGrpcStatus(env.status()));
  }
  auto session = std::make_shared<UnarySession>();
  {
    absl::MutexLock lock(&session->mu);
    session->env = *std::move(env);
    session->last_used = absl::Now();
  }
  std::string id;
  {
    absl::MutexLock lock(&mu_);
    do {
      id = absl::StrFormat("%016x%016x", id_rng_(), id_rng_());
    } while (unary_.contains(id));
    unary_.emplace(id, std::move(session));
  }
  response->set_session_id(id);
  return timer.Finish(grpc::Status::OK);
}

absl::StatusOr<std::shared_ptr<EnvServiceImpl::UnarySession>>
EnvServiceImpl::FindUnary(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("session_id is empty");
  std::shared_ptr<UnarySession> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = unary_.find(id);
    if (it == unary_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "session_id '", BoundedEcho(id),
          "' is not open (closed, idle past --idle_timeout, or never opened)"));
    }
    session = it->second;
  }
  absl::MutexLock lock(&session->mu);
  session->last_used = absl::Now();
  return session;
}

absl::Status EnvServiceImpl::WithUnarySession(
    const std::string& id, absl::FunctionRef<absl::Status(EnvSession&)> fn) {
  absl::StatusOr<std::shared_ptr<UnarySession>> session = FindUnary(id);
  if (!session.ok()) return session.status();
  absl::MutexLock lock(&(*session)->mu);
  if ((*session)->env == nullptr) {
    return absl::NotFoundError("session_id: the session was closed");
  }
  return fn(*(*session)->env);
}

grpc::Status EnvServiceImpl::Step(grpc::ServerContext* context,
                                  const ad::v1::StepRequest* request,
                                  ad::v1::StepResponse* response) {
  RpcTimer timer(&rpc_metrics_, "Step");
  return timer.Finish(ToGrpcStatus(
      WithUnarySession(request->session_id(), [&](EnvSession& env) {
        const absl::Status status =
            env.Step(request->actions(), response->mutable_batch());
        if (status.ok()) steps_total_.Increment(env.num_instances());
        return status;
      })));
}

grpc::Status EnvServiceImpl::ExpertActions(grpc::ServerContext* context,
                                           const ad::v1::ExpertRequest* request,
                                           ad::v1::ExpertResponse* response) {
  RpcTimer timer(&rpc_metrics_, "ExpertActions");
  return timer.Finish(ToGrpcStatus(
      WithUnarySession(request->session_id(), [&](EnvSession& env) {
        return env.ExpertActions(response->mutable_actions());
      })));
}

grpc::Status EnvServiceImpl::Close(grpc::ServerContext* context,
                                   const ad::v1::CloseRequest* request,
                                   ad::v1::CloseResponse* response) {
  RpcTimer timer(&rpc_metrics_, "Close");
  std::shared_ptr<UnarySession> session;
  {
    absl::MutexLock lock(&mu_);
    auto it = unary_.find(request->session_id());
    if (it == unary_.end()) {
      return timer.Finish(grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("session_id '", BoundedEcho(request->session_id()),
                       "' is not open")));
    }
    session = std::move(it->second);
    unary_.erase(it);
  }
  ReleaseSlot();
  absl::MutexLock lock(&session->mu);  // waits for a running Step
  session->env.reset();
  return timer.Finish(grpc::Status::OK);
}

void EnvServiceImpl::ReapIdle() {
  const absl::Duration period = std::clamp(
      options_.idle_timeout / 4, absl::Milliseconds(10), absl::Seconds(5));
  absl::MutexLock lock(&mu_);
  while (true) {
    // Wakes on stopping_ (destructor) or after `period`.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), period);
    if (stopping_) return;
    const absl::Time cutoff = absl::Now() - options_.idle_timeout;
    int reaped = 0;
    for (auto it = unary_.begin(); it != unary_.end();) {
      UnarySession& session = *it->second;
      bool idle;
      {
        absl::MutexLock session_lock(&session.mu);
        idle = session.last_used < cutoff;
        if (idle) session.env.reset();
      }
      if (idle) {
        LOG(INFO) << "closing unary session " << it->first << ": idle for over "
                  << absl::FormatDuration(options_.idle_timeout);
        unary_.erase(it++);
        ++reaped;
      } else {
        ++it;
      }
    }
    active_sessions_ -= reaped;
    sessions_active_.Set(active_sessions_);
  }
}

}  // namespace ad::services
