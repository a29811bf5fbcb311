#include "learner/mixed_window_source.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ad::learner {

absl::StatusOr<std::unique_ptr<MixedWindowSource>> MixedWindowSource::Create(
    std::vector<std::unique_ptr<WindowSource>> parts, int64_t first_batch) {
  if (parts.empty()) {
    return absl::InvalidArgumentError(
        "mixed window source: no parts (want one source per family)");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("mixed window source: part ", i, " is null"));
    }
  }
  if (first_batch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mixed window source: first_batch is ", first_batch, ", want >= 0"));
  }
  return std::unique_ptr<MixedWindowSource>(
      new MixedWindowSource(std::move(parts), first_batch));
}

int64_t MixedWindowSource::PartFirstBatch(int part, int num_parts,
                                          int64_t first_batch) {
  // k in [0, first_batch) with k = part (mod num_parts).
  if (first_batch <= part) return 0;
  return (first_batch - part + num_parts - 1) / num_parts;
}

MixedWindowSource::MixedWindowSource(
    std::vector<std::unique_ptr<WindowSource>> parts, int64_t first_batch)
    : parts_(std::move(parts)), next_batch_(first_batch) {}

absl::StatusOr<Windows> MixedWindowSource::Next(absl::Time deadline) {
  const size_t part =
      static_cast<size_t>(next_batch_ % static_cast<int64_t>(parts_.size()));
  absl::StatusOr<Windows> batch = parts_[part]->Next(deadline);
  if (batch.ok()) ++next_batch_;
  return batch;
}

void MixedWindowSource::Cancel() {
  for (const auto& part : parts_) part->Cancel();
}

}  // namespace ad::learner
