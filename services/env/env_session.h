// One environment session of ad-env-server: a BatchedEnv opened from an
// OpenSession request, stepped with ActionBatch requests, its results written
// straight into reusable StepBatch protos (no per-step allocation once the
// proto's arrays have grown to the batch size).
//
// EnvSession validates every request at the edge, before anything changes:
// bad input is INVALID_ARGUMENT naming the field ("step.actions[3] = 9 is
// outside [0, 5)"), limits are RESOURCE_EXHAUSTED, and a rejected request
// leaves the session exactly as it was.
//
// Not thread-safe: one caller at a time (the stream handler that owns it, or
// a unary handler holding the session's lock). Never blocks.
//
// Observations of a family whose space says obs_bytes (pixels) are stepped
// into an int32 scratch buffer and sent as StepBatch.obs_u8, one byte per
// component; the other families write obs in place, as before.
#ifndef AD_SERVICES_ENV_ENV_SESSION_H_
#define AD_SERVICES_ENV_ENV_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ad/v1/env.pb.h"
#include "envs/env.h"

namespace ad::services {

struct SessionLimits {
  int max_instances = 4096;          // instances per session
  int max_message_bytes = 64 << 20;  // largest response a session may need

  absl::Status Validate() const;
};

class EnvSession {
 public:
  // Checks `open` (family, task ids, instance count, limits), makes the
  // environments and resets them; the first observations are written to
  // `first` and the spaces to `space`.
  static absl::StatusOr<std::unique_ptr<EnvSession>> Open(
      const ad::v1::OpenSession& open, const SessionLimits& limits,
      ad::v1::SpaceSpec* space, ad::v1::StepBatch* first);

  int num_instances() const { return env_->num_envs(); }
  const envs::SpaceSpec& space() const { return env_->space(); }

  // One batched step with `actions` (one per instance); results go to `out`,
  // whose arrays are resized in place.
  absl::Status Step(const ad::v1::ActionBatch& actions, ad::v1::StepBatch* out);

  // New episode in every instance; first observations to `out` (rewards and
  // dones are left empty).
  absl::Status Reset(ad::v1::StepBatch* out);

  // The expert's action of every instance, replacing `actions`' contents.
  absl::Status ExpertActions(
      google::protobuf::RepeatedField<int32_t>* actions) const;

 private:
  explicit EnvSession(std::unique_ptr<envs::BatchedEnv> env)
      : env_(std::move(env)) {}

  // Where the env writes the batch's observations: `out`'s obs array, or
  // obs_scratch_ for obs_bytes families (clearing the unused field).
  absl::Span<int32_t> ObsBuffer(ad::v1::StepBatch* out);
  // Copies obs_scratch_ into out->obs_u8 for obs_bytes families.
  void PackObs(ad::v1::StepBatch* out) const;

  std::unique_ptr<envs::BatchedEnv> env_;
  std::vector<int32_t> obs_scratch_;  // num_instances * obs_dim, obs_bytes
};

// The envs::SpaceSpec as its wire message.
void SpaceToProto(const envs::SpaceSpec& space, ad::v1::SpaceSpec* out);

}  // namespace ad::services

#endif  // AD_SERVICES_ENV_ENV_SESSION_H_
