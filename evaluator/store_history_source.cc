#include "evaluator/store_history_source.h"

#include <grpcpp/grpcpp.h>

#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "ad/v1/store.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/status_convert.h"

namespace ad::evaluator {
namespace {

class StoreHistorySource : public HistorySource {
 public:
  explicit StoreHistorySource(StoreHistorySourceOptions options)
      : options_(std::move(options)),
        stub_(ad::v1::StoreService::NewStub(
            services::MakeChannel(options_.address))) {}

  std::string Describe() const override {
    return absl::StrFormat("store %s", options_.address);
  }

  absl::StatusOr<std::vector<ad::v1::HistoryMeta>> Histories(
      const std::string& env, const std::string& task_id) override {
    ad::v1::QueryTaskRequest request;
    request.set_env(env);
    request.set_task_id(task_id);
    ad::v1::QueryTaskResponse response;
    absl::Status status = services::RetryWithBackoff({}, [&] {
      grpc::ClientContext context;
      services::SetDeadline(context, options_.rpc_timeout);
      return services::FromGrpcStatus(
          stub_->QueryTask(&context, request, &response));
    });
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrFormat("%s QueryTask(%s): %s", Describe(),
                                          task_id, status.message()));
    }
    return std::vector<ad::v1::HistoryMeta>(response.histories().begin(),
                                            response.histories().end());
  }

  absl::StatusOr<ad::v1::TransitionBatch> Transitions(
      const std::string& history_id, uint64_t begin, uint64_t end) override {
    ad::v1::GetHistoryRequest request;
    request.set_history_id(history_id);
    request.set_begin(begin);
    request.set_end(end);
    ad::v1::GetHistoryResponse response;
    absl::Status status = services::RetryWithBackoff({}, [&] {
      grpc::ClientContext context;
      services::SetDeadline(context, options_.rpc_timeout);
      return services::FromGrpcStatus(
          stub_->GetHistory(&context, request, &response));
    });
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrFormat("%s GetHistory(%s): %s", Describe(),
                                          history_id, status.message()));
    }
    return std::move(*response.mutable_transitions());
  }

 private:
  StoreHistorySourceOptions options_;
  std::unique_ptr<ad::v1::StoreService::Stub> stub_;
};

}  // namespace

absl::Status StoreHistorySourceOptions::Validate() const {
  if (address.empty()) {
    return absl::InvalidArgumentError("store address is empty, want host:port");
  }
  if (rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("store rpc_timeout must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HistorySource>> MakeStoreHistorySource(
    const StoreHistorySourceOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  return std::make_unique<StoreHistorySource>(options);
}

}  // namespace ad::evaluator
