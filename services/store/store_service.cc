#include "services/store/store_service.h"

#include <glog/logging.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "services/common/status_convert.h"
#include "services/store/proto_convert.h"
#include "storage/window_sampler.h"

namespace ad::services::store {
namespace {

// The RPC's deadline as absl::Time (InfiniteFuture when none was set).
absl::Time DeadlineOf(const grpc::ServerContext& context) {
  const auto deadline = context.deadline();
  const auto now = std::chrono::system_clock::now();
  if (deadline - now > std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::Now() + absl::FromChrono(deadline - now);
}

// Upper bound of the encoded size of `n` transitions (varint obs/actions
// take at most 5 bytes for non-negative int32 values; negative ones 10;
// obs sent as obs_u8, one byte).
uint64_t TransitionBytes(uint64_t n, uint32_t obs_dim, bool obs_bytes) {
  return n * (uint64_t{obs_dim} * (obs_bytes ? 1 : 5) + 5 + 4 + 1);
}

// Longest checkpoint directory name, and longest component of it (file
// systems refuse components over 255 bytes).
constexpr size_t kMaxCheckpointName = 200;
constexpr size_t kMaxCheckpointComponent = 100;

absl::Status ValidateCheckpointName(const std::string& name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("directory must not be empty");
  }
  if (name.size() > kMaxCheckpointName) {
    return absl::InvalidArgumentError(
        absl::StrCat("directory has ", name.size(), " characters; at most ",
                     kMaxCheckpointName, " allowed"));
  }
  if (name.front() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("directory '", BoundedEcho(name),
                     "' must be relative (it is created under the store's "
                     "--checkpoint_dir)"));
  }
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part == ".." || part == "." || part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("directory '", BoundedEcho(name),
                       "' must not contain empty, '.' or '..' components"));
    }
    if (part.size() > kMaxCheckpointComponent) {
      return absl::InvalidArgumentError(absl::StrCat(
          "directory has a component of ", part.size(), " characters; at most ",
          kMaxCheckpointComponent, " allowed"));
    }
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == '/' || c == '=' || c == ':';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("directory '", BoundedEcho(name),
                       "' has a character outside [A-Za-z0-9._-/=:]"));
    }
  }
  return absl::OkStatus();
}

// The handlers' one way out: the status with its message cut to
// kMaxStatusMessage bytes. Messages built here echo inputs through
// BoundedEcho already; this keeps any other (a library's, RocksDB's) far
// below gRPC's metadata limit, so the client sees the real code.
constexpr size_t kMaxStatusMessage = 1024;

grpc::Status Reply(const absl::Status& status) {
  if (status.message().size() <= kMaxStatusMessage) {
    return ToGrpcStatus(status);
  }
  return ToGrpcStatus(absl::Status(
      status.code(), absl::StrCat(status.message().substr(0, kMaxStatusMessage),
                                  "...(", status.message().size(), " bytes)")));
}

}  // namespace

absl::Status StoreServiceImpl::Options::Validate() const {
  if (max_message_bytes < 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_message_bytes is ", max_message_bytes, "; must be >= 1024"));
  }
  if (max_batch_size == 0 ||
      max_batch_size > storage::WindowSampler::kMaxBatchSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_size is ", max_batch_size, "; must lie in [1, ",
                     storage::WindowSampler::kMaxBatchSize, "]"));
  }
  if (max_window_len == 0 ||
      max_window_len > storage::WindowSampler::kMaxWindowLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_window_len is ", max_window_len, "; must lie in [1, ",
                     storage::WindowSampler::kMaxWindowLen, "]"));
  }
  if (gauge_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("gauge_interval must be positive");
  }
  return absl::OkStatus();
}

StoreServiceImpl::StoreServiceImpl(const Options& options,
                                   storage::TrajectoryStore* store,
                                   prometheus::Registry& registry)
    : options_(options),
      store_(store),
      rpc_metrics_(registry, "store"),
      appended_transitions_(AddCounter(
          registry, "ad_store_appended_transitions_total",
          "Transitions made durable by Append (duplicates not counted)")),
      appended_chunks_(AddCounter(registry, "ad_store_appended_chunks_total",
                                  "Chunks made durable by Append")),
      duplicate_chunks_(AddCounter(
          registry, "ad_store_duplicate_chunks_total",
          "Retried chunks acknowledged as duplicates (nothing written)")),
      sampled_windows_(AddCounter(registry, "ad_store_sampled_windows_total",
                                  "Windows streamed by SampleWindows")),
      histories_deleted_(AddCounter(registry,
                                    "ad_store_deleted_histories_total",
                                    "Histories removed by DeleteHistory")),
      db_bytes_(AddGauge(registry, "ad_store_db_bytes",
                         "RocksDB SST files plus live memtables, in bytes")),
      histories_(AddGauge(registry, "ad_store_histories", "Stored histories")),
      transitions_(
          AddGauge(registry, "ad_store_transitions", "Stored transitions")),
      chunk_latency_(rpc_metrics_.Latency("Append.chunk")),
      batch_latency_(rpc_metrics_.Latency("SampleWindows.batch")) {
  const absl::Status valid = options_.Validate();
  CHECK(valid.ok()) << valid;
  RefreshGauges();
  gauge_thread_ = std::thread([this] { GaugeLoop(); });
}

StoreServiceImpl::~StoreServiceImpl() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  gauge_thread_.join();
}

void StoreServiceImpl::RefreshGauges() {
  const storage::TrajectoryStore::Stats stats = store_->GetStats();
  db_bytes_.Set(static_cast<double>(stats.db_bytes));
  histories_.Set(static_cast<double>(stats.histories));
  transitions_.Set(static_cast<double>(stats.transitions));
}

void StoreServiceImpl::GaugeLoop() {
  absl::MutexLock lock(&mu_);
  // Woken by the destructor (stopping_) or the interval passing.
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                               options_.gauge_interval)) {
    mu_.Unlock();
    RefreshGauges();
    mu_.Lock();
  }
}

grpc::Status StoreServiceImpl::Append(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<ad::v1::AppendAck, ad::v1::AppendRequest>*
        stream) {
  RpcTimer timer(&rpc_metrics_, "Append");
  ad::v1::AppendRequest request;
  ad::v1::AppendAck ack;
  while (stream->Read(&request)) {
    const absl::Time start = absl::Now();
    absl::StatusOr<storage::TrajectoryStore::AppendResult> result =
        AppendFromProto(request, *store_);
    if (!result.ok()) {
      VLOG(1) << "Append rejected: " << result.status();
      return timer.Finish(Reply(result.status()));
    }
    if (result->duplicate) {
      duplicate_chunks_.Increment();
    } else {
      appended_chunks_.Increment();
      appended_transitions_.Increment(
          static_cast<double>(request.chunk().actions_size()));
    }
    chunk_latency_.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    ack.set_history_id(request.history_id());
    ack.set_seq(result->seq);
    ack.set_length(result->length);
    ack.set_duplicate(result->duplicate);
    if (!stream->Write(ack)) {
      return timer.Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    }
  }
  return timer.Finish(grpc::Status::OK);
}

absl::Status StoreServiceImpl::Sample(
    grpc::ServerContext* context, const ad::v1::SampleWindowsRequest& request,
    grpc::ServerWriter<ad::v1::WindowBatch>* writer) {
  if (request.batch_size() == 0 ||
      request.batch_size() > options_.max_batch_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size is ", request.batch_size(),
                     "; must lie in [1, ", options_.max_batch_size, "]"));
  }
  if (request.window_len() == 0 ||
      request.window_len() > options_.max_window_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("window_len is ", request.window_len(),
                     "; must lie in [1, ", options_.max_window_len, "]"));
  }
  storage::WindowSampler::Options sampler_options;
  sampler_options.filter = FromProto(request.filter());
  sampler_options.window_len = request.window_len();
  sampler_options.batch_size = request.batch_size();
  sampler_options.seed = request.seed();
  sampler_options.first_batch = request.first_batch();
  sampler_options.episode_stride = request.episode_stride();
  sampler_options.discovery_episodes = request.discovery_episodes();
  sampler_options.random_phase = request.random_phase();
  AD_ASSIGN_OR_RETURN(std::unique_ptr<storage::WindowSampler> sampler,
                      storage::WindowSampler::Create(store_, sampler_options));
  AD_RETURN_IF_ERROR(
      sampler->WaitUntilReady(request.min_transitions(), DeadlineOf(*context),
                              [context] { return context->IsCancelled(); }));

  const bool obs_bytes = ObsTravelAsBytes(sampler_options.filter.env);
  const uint64_t transitions =
      uint64_t{request.batch_size()} * request.window_len();
  const uint64_t bytes =
      TransitionBytes(transitions, sampler->obs_dim(), obs_bytes) +
      uint64_t{request.batch_size()} * (storage::kMaxHistoryIdLength + 16);
  if (bytes > static_cast<uint64_t>(options_.max_message_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch_size x window_len = ", transitions, " transitions of obs_dim ",
        sampler->obs_dim(), " may need ", bytes,
        " bytes per WindowBatch; the limit is ", options_.max_message_bytes,
        " (lower batch_size or window_len)"));
  }

  storage::WindowBatch batch;
  ad::v1::WindowBatch message;
  for (uint64_t i = 0; request.num_batches() == 0 || i < request.num_batches();
       ++i) {
    if (context->IsCancelled()) return absl::CancelledError("cancelled");
    const absl::Time start = absl::Now();
    const uint64_t index = sampler->next_batch();
    AD_RETURN_IF_ERROR(sampler->Next(&batch));
    ToProto(batch, index, &message, obs_bytes);
    batch_latency_.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (!writer->Write(message)) {
      return absl::CancelledError("the client went away");
    }
    sampled_windows_.Increment(batch.batch_size);
  }
  return absl::OkStatus();
}

grpc::Status StoreServiceImpl::SampleWindows(
    grpc::ServerContext* context, const ad::v1::SampleWindowsRequest* request,
    grpc::ServerWriter<ad::v1::WindowBatch>* writer) {
  RpcTimer timer(&rpc_metrics_, "SampleWindows");
  return timer.Finish(Reply(Sample(context, *request, writer)));
}

grpc::Status StoreServiceImpl::ListTasks(
    grpc::ServerContext* context, const ad::v1::ListTasksRequest* request,
    ad::v1::ListTasksResponse* response) {
  RpcTimer timer(&rpc_metrics_, "ListTasks");
  if (!request->split().empty() && request->split() != storage::kTrainSplit &&
      request->split() != storage::kTestSplit) {
    return timer.Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                     absl::StrCat("split is '", BoundedEcho(request->split()),
                                  "'; must be empty, 'train' or 'test'")));
  }
  for (const auto& task : store_->ListTasks(request->env(), request->split())) {
    ad::v1::TaskSummary* out = response->add_tasks();
    out->set_env(task.env);
    out->set_task_id(task.task_id);
    out->set_split(task.split);
    out->set_histories(task.histories);
    out->set_transitions(task.transitions);
  }
  return timer.Finish(grpc::Status::OK);
}

grpc::Status StoreServiceImpl::QueryTask(
    grpc::ServerContext* context, const ad::v1::QueryTaskRequest* request,
    ad::v1::QueryTaskResponse* response) {
  RpcTimer timer(&rpc_metrics_, "QueryTask");
  if (request->task_id().empty()) {
    return timer.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "task_id must not be empty"));
  }
  auto records = store_->QueryTask(request->env(), request->task_id());
  if (!records.ok()) return timer.Finish(Reply(records.status()));
  for (const storage::HistoryRecord& r : *records) {
    ToProto(r, response->add_histories());
  }
  return timer.Finish(grpc::Status::OK);
}

grpc::Status StoreServiceImpl::GetHistory(
    grpc::ServerContext* context, const ad::v1::GetHistoryRequest* request,
    ad::v1::GetHistoryResponse* response) {
  RpcTimer timer(&rpc_metrics_, "GetHistory");
  auto record = store_->GetHistory(request->history_id());
  if (!record.ok()) return timer.Finish(Reply(record.status()));
  if (request->meta_only()) {
    ToProto(*record, response->mutable_meta());
    return timer.Finish(grpc::Status::OK);
  }
  const uint64_t end = request->end() == 0 ? record->length : request->end();
  if (request->begin() > end || end > record->length) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::OUT_OF_RANGE,
        absl::StrCat("range [", request->begin(), ", ", end, ") of history '",
                     BoundedEcho(request->history_id()), "' is outside [0, ",
                     record->length, "]")));
  }
  const uint64_t max_transitions =
      static_cast<uint64_t>(options_.max_message_bytes) / 2 /
      TransitionBytes(1, record->obs_dim, ObsTravelAsBytes(record->env));
  if (end - request->begin() > max_transitions) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("range [", request->begin(), ", ", end, ") holds ",
                     end - request->begin(), " transitions; at most ",
                     max_transitions, " per call at obs_dim ", record->obs_dim,
                     " (page with begin/end)")));
  }
  auto transitions =
      store_->ReadRange(request->history_id(), request->begin(), end);
  if (!transitions.ok()) {
    return timer.Finish(Reply(transitions.status()));
  }
  ToProto(*record, response->mutable_meta());
  ToProto(transitions->view(), response->mutable_transitions(),
          ObsTravelAsBytes(record->env));
  return timer.Finish(grpc::Status::OK);
}

grpc::Status StoreServiceImpl::Stats(grpc::ServerContext* context,
                                     const ad::v1::StatsRequest* request,
                                     ad::v1::StatsResponse* response) {
  RpcTimer timer(&rpc_metrics_, "Stats");
  const storage::TrajectoryStore::Stats stats = store_->GetStats();
  response->set_histories(stats.histories);
  response->set_complete_histories(stats.complete_histories);
  response->set_transitions(stats.transitions);
  response->set_tasks(stats.tasks);
  response->set_db_bytes(stats.db_bytes);
  db_bytes_.Set(static_cast<double>(stats.db_bytes));
  return timer.Finish(grpc::Status::OK);
}

grpc::Status StoreServiceImpl::Checkpoint(
    grpc::ServerContext* context, const ad::v1::CheckpointRequest* request,
    ad::v1::CheckpointResponse* response) {
  RpcTimer timer(&rpc_metrics_, "Checkpoint");
  if (options_.checkpoint_root.empty()) {
    return timer.Finish(grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "checkpoints are disabled: start ad-store with --checkpoint_dir"));
  }
  if (absl::Status s = ValidateCheckpointName(request->directory()); !s.ok()) {
    return timer.Finish(Reply(s));
  }
  const std::string directory =
      absl::StrCat(options_.checkpoint_root, "/", request->directory());
  std::error_code error;
  std::filesystem::create_directories(
      std::filesystem::path(directory).parent_path(), error);
  if (error) {
    return timer.Finish(
        grpc::Status(grpc::StatusCode::INTERNAL,
                     absl::StrCat("creating the parent of ", directory, ": ",
                                  error.message())));
  }
  if (absl::Status s = store_->Checkpoint(directory); !s.ok()) {
    return timer.Finish(Reply(s));
  }
  LOG(INFO) << "checkpoint written to " << directory;
  response->set_directory(directory);
  return timer.Finish(grpc::Status::OK);
}

grpc::Status StoreServiceImpl::DeleteHistory(
    grpc::ServerContext* context, const ad::v1::DeleteHistoryRequest* request,
    ad::v1::DeleteHistoryResponse* response) {
  RpcTimer timer(&rpc_metrics_, "DeleteHistory");
  if (request->history_id().empty()) {
    return timer.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "history_id must not be empty"));
  }
  const std::string who = absl::StrFormat(
      "requested_by '%s' from %s",
      BoundedEcho(request->requested_by().empty() ? "(not given)"
                                                  : request->requested_by()),
      BoundedEcho(context->peer()));
  absl::StatusOr<storage::HistoryRecord> deleted =
      store_->DeleteHistory(request->history_id());
  if (!deleted.ok()) {
    LOG(WARNING) << "audit: DeleteHistory '"
                 << BoundedEcho(request->history_id()) << "' " << who
                 << " failed: " << deleted.status();
    return timer.Finish(Reply(deleted.status()));
  }
  LOG(WARNING) << "audit: DeleteHistory '" << BoundedEcho(request->history_id())
               << "' " << who << ", reason '"
               << BoundedEcho(request->reason(), 256) << "': deleted env '"
               << deleted->env << "' task '" << BoundedEcho(deleted->task_id)
               << "' source '" << BoundedEcho(deleted->source) << "', "
               << deleted->length << " transitions, " << deleted->episodes
               << " episodes";
  histories_deleted_.Increment();
  ToProto(*deleted, response->mutable_meta());
  return timer.Finish(grpc::Status::OK);
}

}  // namespace ad::services::store
