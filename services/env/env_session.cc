#include "services/env/env_session.h"

#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/obs_bytes.h"
#include "common/status_macros.h"
#include "common/text_escape.h"
#include "envs/registry.h"

namespace ad::services {
namespace {

// Worst-case encoded size of one StepBatch of `n` instances: varint obs
// (<= 5 bytes each) or one byte each in obs_u8, fixed32 rewards, one byte
// per done, plus headers.
int64_t MaxStepBatchBytes(int64_t n, int64_t obs_dim, bool obs_bytes) {
  return n * obs_dim * (obs_bytes ? 1 : 5) + n * 4 + n + 64;
}

// Resizes a packed repeated field in place (keeps its capacity).
template <typename T>
absl::Span<T> ResizeInPlace(google::protobuf::RepeatedField<T>* field,
                            int size) {
  field->Resize(size, T{});
  return absl::MakeSpan(field->mutable_data(), size);
}

}  // namespace

absl::Status SessionLimits::Validate() const {
  if (max_instances < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SessionLimits.max_instances must be >= 1, got ", max_instances));
  }
  if (max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("SessionLimits.max_message_bytes must be >= 1024, got ",
                     max_message_bytes));
  }
  return absl::OkStatus();
}

void SpaceToProto(const envs::SpaceSpec& space, ad::v1::SpaceSpec* out) {
  out->set_family(space.family);
  out->set_obs_dim(static_cast<uint32_t>(space.obs_dim));
  out->mutable_obs_high()->Assign(space.obs_high.begin(), space.obs_high.end());
  out->set_num_actions(static_cast<uint32_t>(space.num_actions));
  out->set_episode_len(static_cast<uint32_t>(space.episode_len));
  out->set_description(space.description);
  out->set_obs_bytes(space.obs_bytes);
}

absl::StatusOr<std::unique_ptr<EnvSession>> EnvSession::Open(
    const ad::v1::OpenSession& open, const SessionLimits& limits,
    ad::v1::SpaceSpec* space, ad::v1::StepBatch* first) {
  // Family.
  if (open.family().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("open.family is empty; known families: ",
                     absl::StrJoin(envs::FamilyNames(), ", ")));
  }
  absl::StatusOr<const envs::EnvFamily*> family =
      envs::FindFamily(open.family());
  if (!family.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "open.family: unknown family '", BoundedEcho(open.family()),
        "'; known families: ", absl::StrJoin(envs::FamilyNames(), ", ")));
  }

  // Instance count and the limits.
  const uint32_t n = open.num_instances();
  if (n == 0) {
    return absl::InvalidArgumentError("open.num_instances must be >= 1, got 0");
  }
  if (n > static_cast<uint32_t>(limits.max_instances)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "open.num_instances = ", n, " is over this server's limit of ",
        limits.max_instances, " instances per session"));
  }
  const int obs_dim = (*family)->space().obs_dim;
  const int64_t bytes =
      MaxStepBatchBytes(n, obs_dim, (*family)->space().obs_bytes);
  if (bytes > limits.max_message_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("open.num_instances = ", n, " needs responses of up to ",
                     bytes, " bytes, over this server's max_message_bytes of ",
                     limits.max_message_bytes));
  }

  // Task ids: one for all, or one per instance, each a task of the family.
  const int num_ids = open.task_ids_size();
  if (num_ids != 1 && num_ids != static_cast<int>(n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("open.task_ids has ", num_ids, " entries; want 1 or ",
                     "num_instances (", n, ")"));
  }
  for (int i = 0; i < num_ids; ++i) {
    if (i > 0 && open.task_ids(i) == open.task_ids(i - 1)) continue;
    const absl::Status valid = (*family)->ValidateTask(open.task_ids(i));
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "open.task_ids[", i, "] = '", BoundedEcho(open.task_ids(i)),
          "' is not a task of ", open.family(), ": ", valid.message()));
    }
  }

  const std::vector<std::string> ids(open.task_ids().begin(),
                                     open.task_ids().end());
  AD_ASSIGN_OR_RETURN(std::unique_ptr<envs::BatchedEnv> env,
                      (*family)->Make(ids, static_cast<int>(n), open.seed()));
  std::unique_ptr<EnvSession> session(new EnvSession(std::move(env)));
  SpaceToProto(session->space(), space);
  AD_RETURN_IF_ERROR(session->Reset(first));
  return session;
}

absl::Status EnvSession::Step(const ad::v1::ActionBatch& actions,
                              ad::v1::StepBatch* out) {
  const int n = env_->num_envs();
  const int num_actions = env_->space().num_actions;
  if (actions.actions_size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("step.actions has ", actions.actions_size(),
                     " entries; want one per instance (", n, ")"));
  }
  const int32_t* a = actions.actions().data();
  for (int i = 0; i < n; ++i) {
    if (a[i] < 0 || a[i] >= num_actions) {
      return absl::InvalidArgumentError(
          absl::StrCat("step.actions[", i, "] = ", a[i], " is outside [0, ",
                       num_actions, ")"));
    }
  }
  const int obs_dim = env_->space().obs_dim;
  out->set_obs_dim(static_cast<uint32_t>(obs_dim));
  envs::StepOutput step_out;
  step_out.obs = ObsBuffer(out);
  step_out.rewards = ResizeInPlace(out->mutable_rewards(), n);
  std::string* dones = out->mutable_dones();
  dones->resize(static_cast<size_t>(n));
  step_out.dones =
      absl::MakeSpan(reinterpret_cast<uint8_t*>(dones->data()), dones->size());
  AD_RETURN_IF_ERROR(env_->Step(absl::MakeConstSpan(a, n), step_out));
  PackObs(out);
  return absl::OkStatus();
}

absl::Status EnvSession::Reset(ad::v1::StepBatch* out) {
  const int obs_dim = env_->space().obs_dim;
  out->set_obs_dim(static_cast<uint32_t>(obs_dim));
  out->clear_rewards();
  out->clear_dones();
  AD_RETURN_IF_ERROR(env_->Reset(ObsBuffer(out)));
  PackObs(out);
  return absl::OkStatus();
}

absl::Span<int32_t> EnvSession::ObsBuffer(ad::v1::StepBatch* out) {
  const int size = num_instances() * env_->space().obs_dim;
  if (!env_->space().obs_bytes) {
    out->clear_obs_u8();
    return ResizeInPlace(out->mutable_obs(), size);
  }
  out->clear_obs();
  obs_scratch_.resize(static_cast<size_t>(size));
  return absl::MakeSpan(obs_scratch_);
}

void EnvSession::PackObs(ad::v1::StepBatch* out) const {
  if (env_->space().obs_bytes) ObsToBytes(obs_scratch_, out->mutable_obs_u8());
}

absl::Status EnvSession::ExpertActions(
    google::protobuf::RepeatedField<int32_t>* actions) const {
  return env_->ExpertActions(ResizeInPlace(actions, num_instances()));
}

}  // namespace ad::services
