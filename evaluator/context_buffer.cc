#include "evaluator/context_buffer.h"

#include <algorithm>
#include <cstddef>

#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace ad::evaluator {
namespace {

absl::Status CheckSize(const char* field, size_t got, size_t want) {
  if (got == want) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "context push: %s has %d values, want %d", field, got, want));
}

}  // namespace

int ContextBatch::obs_dim() const { return buffer_->obs_dim_; }
int ContextBatch::capacity() const { return buffer_->capacity_; }
int ContextBatch::length() const { return buffer_->length_; }
int64_t ContextBatch::pushes() const { return buffer_->pushes_; }

absl::Span<const int32_t> ContextBatch::obs(int r, int k) const {
  const ContextBuffer& b = *buffer_;
  const size_t at =
      (static_cast<size_t>(first_row_ + r) * b.capacity_ + b.Slot(k)) *
      b.obs_dim_;
  return absl::MakeConstSpan(b.obs_.data() + at, b.obs_dim_);
}

int32_t ContextBatch::action(int r, int k) const {
  const ContextBuffer& b = *buffer_;
  return b
      .actions_[static_cast<size_t>(first_row_ + r) * b.capacity_ + b.Slot(k)];
}

float ContextBatch::reward(int r, int k) const {
  const ContextBuffer& b = *buffer_;
  return b
      .rewards_[static_cast<size_t>(first_row_ + r) * b.capacity_ + b.Slot(k)];
}

bool ContextBatch::done(int r, int k) const {
  const ContextBuffer& b = *buffer_;
  return b.dones_[static_cast<size_t>(first_row_ + r) * b.capacity_ +
                  b.Slot(k)] != 0;
}

absl::Span<const int32_t> ContextBatch::current_obs(int r) const {
  const ContextBuffer& b = *buffer_;
  return absl::MakeConstSpan(
      b.current_obs_.data() + static_cast<size_t>(first_row_ + r) * b.obs_dim_,
      b.obs_dim_);
}

ContextBuffer::ContextBuffer(int rows, int capacity, int obs_dim)
    : rows_(rows), capacity_(capacity), obs_dim_(obs_dim) {
  CHECK_GE(rows, 1);
  CHECK_GE(capacity, 1);
  CHECK_GE(obs_dim, 1);
  const size_t cells = static_cast<size_t>(rows) * capacity;
  obs_.assign(cells * obs_dim, 0);
  actions_.assign(cells, 0);
  rewards_.assign(cells, 0.0f);
  dones_.assign(cells, 0);
  current_obs_.assign(static_cast<size_t>(rows) * obs_dim, 0);
}

void ContextBuffer::Clear() {
  length_ = 0;
  next_ = 0;
  pushes_ = 0;
}

absl::Status ContextBuffer::Push(absl::Span<const int32_t> obs,
                                 absl::Span<const int32_t> actions,
                                 absl::Span<const float> rewards,
                                 absl::Span<const uint8_t> dones) {
  const size_t rows = rows_;
  if (absl::Status s = CheckSize("obs", obs.size(), rows * obs_dim_); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSize("actions", actions.size(), rows); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSize("rewards", rewards.size(), rows); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckSize("dones", dones.size(), rows); !s.ok()) {
    return s;
  }
  for (size_t r = 0; r < rows; ++r) {
    const size_t cell = r * capacity_ + next_;
    std::copy_n(obs.data() + r * obs_dim_, obs_dim_,
                obs_.data() + cell * obs_dim_);
    actions_[cell] = actions[r];
    rewards_[cell] = rewards[r];
    dones_[cell] = dones[r] != 0 ? 1 : 0;
  }
  next_ = (next_ + 1) % capacity_;
  ++pushes_;
  length_ = std::min(length_ + 1, capacity_);
  return absl::OkStatus();
}

absl::Status ContextBuffer::SetCurrentObs(absl::Span<const int32_t> obs) {
  if (obs.size() != current_obs_.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("context: current obs has %d values, want %d",
                        obs.size(), current_obs_.size()));
  }
  std::copy(obs.begin(), obs.end(), current_obs_.begin());
  return absl::OkStatus();
}

ContextBatch ContextBuffer::View(int first, int count) const {
  CHECK(first >= 0 && count >= 0 && first + count <= rows_)
      << "view [" << first << ", " << first + count << ") of " << rows_
      << " rows";
  return ContextBatch(this, first, count);
}

}  // namespace ad::evaluator
