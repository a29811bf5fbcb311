#include "actors/history_recorder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/obs_bytes.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "glog/logging.h"

namespace ad::actors {
namespace {

// Whether the family `env` sends observations as bytes (envs/env.h).
bool FamilyObsBytes(const std::string& env) {
  absl::StatusOr<const envs::EnvFamily*> family = envs::FindFamily(env);
  return family.ok() && (*family)->space().obs_bytes;
}

}  // namespace

absl::Status HistoryRecorder::Options::Validate() const {
  if (chunk_transitions < 1 || chunk_transitions > (1 << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_transitions is ", chunk_transitions, "; must be in [1, 2^24]"));
  }
  if (chunk_obs_bytes < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "chunk_obs_bytes is ", chunk_obs_bytes, "; must be at least 1"));
  }
  return absl::OkStatus();
}

HistoryRecorder::HistoryRecorder(ad::v1::HistoryMeta meta, HistorySink* sink,
                                 Options options)
    : meta_(std::move(meta)),
      sink_(sink),
      options_(options),
      obs_bytes_(FamilyObsBytes(meta_.env())) {
  CHECK(sink_ != nullptr);
  CHECK(options_.Validate().ok()) << options_.Validate();
  StartChunk();
}

void HistoryRecorder::StartChunk() {
  chunk_ = TransitionChunk();
  chunk_.seq = next_seq_;
  chunk_.first = static_cast<uint64_t>(transitions_);
  chunk_.transitions.set_obs_dim(meta_.obs_dim());
}

absl::Status HistoryRecorder::Record(absl::Span<const int32_t> obs,
                                     int32_t action, float reward, bool done) {
  if (finished_) {
    return absl::FailedPreconditionError(
        absl::StrCat("history ", meta_.history_id(), " is finished"));
  }
  if (obs.size() != meta_.obs_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "obs has ", obs.size(), " values, meta.obs_dim is ", meta_.obs_dim()));
  }
  ad::v1::TransitionBatch& t = chunk_.transitions;
  if (obs_bytes_) {
    for (size_t i = 0; i < obs.size(); ++i) {
      if (obs[i] < 0 || obs[i] > 255) {
        return absl::InvalidArgumentError(
            absl::StrCat("obs[", i, "] is ", obs[i], "; env ", meta_.env(),
                         " sends observations as bytes, in [0, 256)"));
      }
    }
    std::string* bytes = t.mutable_obs_u8();
    const size_t at = bytes->size();
    bytes->resize(at + obs.size());
    ObsToBytes(obs, reinterpret_cast<uint8_t*>(bytes->data() + at));
  } else {
    t.mutable_obs()->Add(obs.begin(), obs.end());
  }
  t.add_actions(action);
  t.add_rewards(reward);
  t.mutable_dones()->push_back(done ? 1 : 0);
  ++transitions_;
  current_return_ += reward;
  if (done) {
    returns_.push_back(static_cast<float>(current_return_));
    chunk_.episode_returns.push_back(static_cast<float>(current_return_));
    current_return_ = 0;
  }
  const int64_t obs_bytes =
      obs_bytes_
          ? static_cast<int64_t>(t.obs_u8().size())
          : int64_t{t.obs_size()} * static_cast<int64_t>(sizeof(int32_t));
  if (chunk_.size() >= options_.chunk_transitions ||
      obs_bytes >= options_.chunk_obs_bytes) {
    return SendChunk(/*final=*/false);
  }
  return absl::OkStatus();
}

absl::Status HistoryRecorder::SendChunk(bool final) {
  absl::Status s = sink_->Append(meta_, chunk_, final);
  ++next_seq_;
  StartChunk();
  return s;
}

absl::Status HistoryRecorder::Finish(bool complete) {
  if (finished_) return absl::OkStatus();
  finished_ = true;
  if (complete) return SendChunk(/*final=*/true);
  if (chunk_.size() > 0) return SendChunk(/*final=*/false);
  return absl::OkStatus();
}

}  // namespace ad::actors
