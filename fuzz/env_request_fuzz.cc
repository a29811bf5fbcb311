// Fuzzes the env server's session requests: the input is a stream of
// ad.v1.EnvRequest (fuzz/proto_stream.h framing), as one client's Session
// stream would send them. The first must be `open` (as the handler demands);
// it and every later `step`, `reset` and `expert` go through
// services::EnvSession, where the server validates them.
//
// Oracles, beyond "no crash, no sanitizer report":
//  * every response is well formed: obs has num_instances * obs_dim values,
//    each in [0, obs_high), rewards are finite, done bytes are 0/1, expert
//    actions lie in [0, num_actions);
//  * a rejected request changes nothing: a twin session, opened with the
//    same request, is sent only the requests the first one accepted, and
//    must accept them too and answer byte for byte the same.
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "ad/v1/env.pb.h"
#include "fuzz/proto_stream.h"
#include "glog/logging.h"
#include "services/env/env_session.h"

namespace ad::fuzz {
namespace {

constexpr size_t kMaxRequests = 64;

// Smaller than the server's defaults so that each input runs in
// milliseconds; the checks against the limits are the same code.
services::SessionLimits Limits() {
  services::SessionLimits limits;
  limits.max_instances = 64;
  limits.max_message_bytes = 1 << 20;
  return limits;
}

void CheckBatch(const ad::v1::StepBatch& batch, const ad::v1::SpaceSpec& space,
                int n, bool stepped) {
  CHECK_EQ(batch.obs_dim(), space.obs_dim());
  CHECK_EQ(batch.obs_size(), n * static_cast<int>(space.obs_dim()));
  CHECK_EQ(space.obs_high_size(), static_cast<int>(space.obs_dim()));
  for (int i = 0; i < batch.obs_size(); ++i) {
    const int32_t high = space.obs_high(i % space.obs_high_size());
    CHECK(batch.obs(i) >= 0 && batch.obs(i) < high)
        << "obs[" << i << "] = " << batch.obs(i) << " outside [0, " << high
        << ")";
  }
  if (!stepped) {
    CHECK_EQ(batch.rewards_size(), 0);
    CHECK(batch.dones().empty());
    return;
  }
  CHECK_EQ(batch.rewards_size(), n);
  CHECK_EQ(static_cast<int>(batch.dones().size()), n);
  for (int i = 0; i < n; ++i) {
    CHECK(std::isfinite(batch.rewards(i))) << "rewards[" << i << "]";
    CHECK(batch.dones()[i] == 0 || batch.dones()[i] == 1)
        << "dones[" << i << "]";
  }
}

// Handles one in-session request as the Session handler does; the response
// or the error.
absl::Status Handle(services::EnvSession& session,
                    const ad::v1::EnvRequest& request,
                    ad::v1::EnvResponse* response) {
  response->Clear();
  switch (request.kind_case()) {
    case ad::v1::EnvRequest::kStep:
      return session.Step(request.step(), response->mutable_batch());
    case ad::v1::EnvRequest::kReset:
      return session.Reset(response->mutable_batch());
    case ad::v1::EnvRequest::kExpert:
      return session.ExpertActions(response->mutable_expert_actions());
    default:
      return absl::InvalidArgumentError("not step, reset or expert");
  }
}

}  // namespace
}  // namespace ad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<ad::v1::EnvRequest> requests =
      ad::fuzz::ParseStream<ad::v1::EnvRequest>(data, size,
                                                ad::fuzz::kMaxRequests);
  if (requests.empty() ||
      requests[0].kind_case() != ad::v1::EnvRequest::kOpen) {
    return 0;
  }
  const ad::services::SessionLimits limits = ad::fuzz::Limits();
  ad::v1::SpaceSpec space;
  ad::v1::StepBatch first;
  absl::StatusOr<std::unique_ptr<ad::services::EnvSession>> session =
      ad::services::EnvSession::Open(requests[0].open(), limits, &space,
                                     &first);
  if (!session.ok()) {
    CHECK_LE(session.status().message().size(), 4096u) << session.status();
    return 0;
  }
  const int n = (*session)->num_instances();
  CHECK_GE(n, 1);
  CHECK_LE(n, limits.max_instances);
  CHECK_GE(space.num_actions(), 1u);
  ad::fuzz::CheckBatch(first, space, n, /*stepped=*/false);

  ad::v1::SpaceSpec twin_space;
  ad::v1::StepBatch twin_first;
  absl::StatusOr<std::unique_ptr<ad::services::EnvSession>> twin =
      ad::services::EnvSession::Open(requests[0].open(), limits, &twin_space,
                                     &twin_first);
  CHECK(twin.ok()) << twin.status();
  CHECK_EQ(first.SerializeAsString(), twin_first.SerializeAsString());

  ad::v1::EnvResponse response;
  ad::v1::EnvResponse twin_response;
  for (size_t r = 1; r < requests.size(); ++r) {
    const absl::Status status =
        ad::fuzz::Handle(**session, requests[r], &response);
    if (!status.ok()) {
      CHECK_LE(status.message().size(), 4096u) << status;
      continue;
    }
    switch (requests[r].kind_case()) {
      case ad::v1::EnvRequest::kStep:
        ad::fuzz::CheckBatch(response.batch(), space, n, /*stepped=*/true);
        break;
      case ad::v1::EnvRequest::kReset:
        ad::fuzz::CheckBatch(response.batch(), space, n, /*stepped=*/false);
        break;
      default:
        CHECK_EQ(response.expert_actions_size(), n);
        for (int32_t action : response.expert_actions()) {
          CHECK(action >= 0 &&
                action < static_cast<int32_t>(space.num_actions()))
              << action;
        }
        break;
    }
    const absl::Status twin_status =
        ad::fuzz::Handle(**twin, requests[r], &twin_response);
    CHECK(twin_status.ok()) << twin_status;
    CHECK_EQ(response.SerializeAsString(), twin_response.SerializeAsString())
        << "a rejected request changed the session";
  }
  return 0;
}
