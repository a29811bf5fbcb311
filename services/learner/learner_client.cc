#include "services/learner/learner_client.h"

#include <grpcpp/support/sync_stream.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "services/common/unary_call.h"

namespace ad::services::learner {

absl::StatusOr<std::unique_ptr<LearnerClient>> LearnerClient::Create(
    const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<LearnerClient>(new LearnerClient(options));
}

LearnerClient::LearnerClient(const Options& options)
    : options_(options),
      channel_(MakeChannel(options.address, options.channel)),
      stub_(ad::v1::LearnerService::NewStub(channel_)) {}

absl::Status LearnerClient::Call(
    const char* method,
    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call) {
  return CallWithRetry(options_, method, /*retry=*/true, call);
}

absl::StatusOr<ad::v1::LearnerStatusResponse> LearnerClient::Status() {
  return UnaryCall(options_, "Status", /*retry=*/true, *stub_,
                   &ad::v1::LearnerService::Stub::Status,
                   ad::v1::LearnerStatusRequest());
}

absl::StatusOr<ad::v1::ListCheckpointsResponse>
LearnerClient::ListCheckpoints() {
  return UnaryCall(options_, "ListCheckpoints", /*retry=*/true, *stub_,
                   &ad::v1::LearnerService::Stub::ListCheckpoints,
                   ad::v1::ListCheckpointsRequest());
}

absl::StatusOr<std::string> LearnerClient::GetCheckpoint(int64_t step) {
  ad::v1::GetCheckpointRequest request;
  request.set_step(step);
  std::string bytes;
  AD_RETURN_IF_ERROR(Call("GetCheckpoint", [&](grpc::ClientContext* c) {
    bytes.clear();
    std::unique_ptr<grpc::ClientReader<ad::v1::CheckpointChunk>> reader =
        stub_->GetCheckpoint(c, request);
    ad::v1::CheckpointChunk chunk;
    while (reader->Read(&chunk)) bytes += chunk.data();
    return reader->Finish();
  }));
  return bytes;
}

absl::Status LearnerClient::FetchCheckpoint(int64_t step,
                                            const std::string& path) {
  AD_ASSIGN_OR_RETURN(const std::string bytes, GetCheckpoint(step));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      return absl::InternalError(absl::StrFormat("cannot write %s", tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrFormat("cannot rename %s: %s", tmp, ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace ad::services::learner
