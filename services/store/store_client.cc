#include "services/store/store_client.h"

#include "absl/strings/str_cat.h"
#include "common/obs_bytes.h"
#include "common/status_macros.h"
#include "services/common/status_convert.h"
#include "services/common/unary_call.h"

namespace ad::services::store {
namespace {

using Stub = ad::v1::StoreService::Stub;

}  // namespace

bool WindowStream::Next(ad::v1::WindowBatch* batch) {
  if (finished_) return false;
  return reader_->Read(batch);
}

absl::Status WindowStream::Finish() {
  if (!finished_) {
    finished_ = true;
    status_ = FromGrpcStatus(reader_->Finish());
  }
  return status_;
}

absl::StatusOr<std::unique_ptr<StoreClient>> StoreClient::Create(
    const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<StoreClient>(new StoreClient(options));
}

StoreClient::StoreClient(const Options& options)
    : options_(options),
      channel_(MakeChannel(options.address, options.channel)),
      stub_(ad::v1::StoreService::NewStub(channel_)) {}

absl::StatusOr<ad::v1::ListTasksResponse> StoreClient::ListTasks(
    const std::string& env, const std::string& split) {
  ad::v1::ListTasksRequest request;
  request.set_env(env);
  request.set_split(split);
  return UnaryCall(options_, "ListTasks", /*retry=*/true, *stub_,
                   &Stub::ListTasks, request);
}

absl::StatusOr<std::vector<ad::v1::HistoryMeta>> StoreClient::QueryTask(
    const std::string& env, const std::string& task_id) {
  ad::v1::QueryTaskRequest request;
  request.set_env(env);
  request.set_task_id(task_id);
  AD_ASSIGN_OR_RETURN(const ad::v1::QueryTaskResponse response,
                      UnaryCall(options_, "QueryTask", /*retry=*/true, *stub_,
                                &Stub::QueryTask, request));
  return std::vector<ad::v1::HistoryMeta>(response.histories().begin(),
                                          response.histories().end());
}

absl::StatusOr<ad::v1::GetHistoryResponse> StoreClient::GetHistory(
    const std::string& history_id, uint64_t begin, uint64_t end) {
  ad::v1::GetHistoryRequest request;
  request.set_history_id(history_id);
  request.set_begin(begin);
  request.set_end(end);
  AD_ASSIGN_OR_RETURN(ad::v1::GetHistoryResponse response,
                      UnaryCall(options_, "GetHistory", /*retry=*/true, *stub_,
                                &Stub::GetHistory, request));
  AD_RETURN_IF_ERROR(WidenObs(response.mutable_transitions()));
  return response;
}

absl::StatusOr<ad::v1::HistoryMeta> StoreClient::GetHistoryMeta(
    const std::string& history_id) {
  ad::v1::GetHistoryRequest request;
  request.set_history_id(history_id);
  request.set_meta_only(true);
  AD_ASSIGN_OR_RETURN(ad::v1::GetHistoryResponse response,
                      UnaryCall(options_, "GetHistory", /*retry=*/true, *stub_,
                                &Stub::GetHistory, request));
  return std::move(*response.mutable_meta());
}

absl::StatusOr<ad::v1::StatsResponse> StoreClient::Stats() {
  return UnaryCall(options_, "Stats", /*retry=*/true, *stub_, &Stub::Stats,
                   ad::v1::StatsRequest());
}

absl::StatusOr<std::string> StoreClient::Checkpoint(
    const std::string& directory) {
  ad::v1::CheckpointRequest request;
  request.set_directory(directory);
  AD_ASSIGN_OR_RETURN(const ad::v1::CheckpointResponse response,
                      UnaryCall(options_, "Checkpoint", /*retry=*/false, *stub_,
                                &Stub::Checkpoint, request));
  return response.directory();
}

absl::StatusOr<ad::v1::HistoryMeta> StoreClient::DeleteHistory(
    const std::string& history_id, const std::string& requested_by,
    const std::string& reason) {
  ad::v1::DeleteHistoryRequest request;
  request.set_history_id(history_id);
  request.set_requested_by(requested_by);
  request.set_reason(reason);
  AD_ASSIGN_OR_RETURN(ad::v1::DeleteHistoryResponse response,
                      UnaryCall(options_, "DeleteHistory", /*retry=*/false,
                                *stub_, &Stub::DeleteHistory, request));
  return std::move(*response.mutable_meta());
}

std::unique_ptr<WindowStream> StoreClient::SampleWindows(
    const ad::v1::SampleWindowsRequest& request, absl::Duration timeout) {
  std::unique_ptr<WindowStream> stream(new WindowStream());
  SetDeadline(stream->context_, timeout);
  stream->reader_ = stub_->SampleWindows(&stream->context_, request);
  return stream;
}

absl::Status WidenObs(ad::v1::TransitionBatch* batch) {
  if (batch->obs_u8().empty()) return absl::OkStatus();
  AD_RETURN_IF_ERROR(
      CheckObsFields("transitions", batch->obs_size(), batch->obs_u8().size(),
                     uint64_t{batch->obs_dim()} *
                         static_cast<uint64_t>(batch->actions_size())));
  google::protobuf::RepeatedField<int32_t>* obs = batch->mutable_obs();
  obs->Resize(static_cast<int>(batch->obs_u8().size()), 0);
  ObsFromBytes(batch->obs_u8(),
               absl::MakeSpan(obs->mutable_data(), obs->size()));
  batch->clear_obs_u8();
  return absl::OkStatus();
}

}  // namespace ad::services::store
