#include "learner/in_process_source.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "learner/transition_range.h"

namespace ad::learner {
namespace {

absl::Status ValidateHistory(const History& h) {
  const size_t n = h.actions.size();
  if (h.obs_dim < 1 || h.obs.size() != n * h.obs_dim || h.rewards.size() != n ||
      h.dones.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "history '", h.history_id, "': obs/actions/rewards/dones sizes ",
        h.obs.size(), "/", n, "/", h.rewards.size(), "/", h.dones.size(),
        " disagree with obs_dim = ", h.obs_dim));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<InProcessWindowSource>>
InProcessWindowSource::Create(std::vector<History> histories,
                              const WindowRequest& request,
                              const std::string& split) {
  AD_RETURN_IF_ERROR(request.Validate());
  std::vector<History> kept;
  for (History& h : histories) {
    AD_RETURN_IF_ERROR(ValidateHistory(h));
    if (h.split != split || h.length() < request.window_len) continue;
    if (!kept.empty() && kept.front().obs_dim != h.obs_dim) {
      return absl::InvalidArgumentError(
          absl::StrCat("history '", h.history_id, "' has obs_dim ", h.obs_dim,
                       ", others ", kept.front().obs_dim));
    }
    kept.push_back(std::move(h));
  }
  if (kept.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no history of split '", split, "' holds a window of ",
                     request.window_len, " transitions"));
  }
  return std::unique_ptr<InProcessWindowSource>(
      new InProcessWindowSource(std::move(kept), request));
}

InProcessWindowSource::InProcessWindowSource(std::vector<History> histories,
                                             const WindowRequest& request)
    : histories_(std::move(histories)),
      request_(request),
      next_batch_(request.first_batch) {
  int64_t total = 0;
  for (const History& h : histories_) {
    total += h.length() - request_.window_len + 1;
    cumulative_starts_.push_back(total);
  }
}

absl::StatusOr<Windows> InProcessWindowSource::Next(absl::Time /*deadline*/) {
  const int b = request_.batch_size;
  const int t = request_.window_len;
  const int d = histories_.front().obs_dim;
  std::mt19937_64 rng(HashSeed(request_.seed ^ HashSeed(next_batch_)));
  ++next_batch_;
  Windows w;
  w.batch_size = b;
  w.window_len = t;
  w.obs_dim = d;
  w.obs.reserve(static_cast<size_t>(b) * t * d);
  w.actions.reserve(static_cast<size_t>(b) * t);
  w.rewards.reserve(static_cast<size_t>(b) * t);
  w.dones.reserve(static_cast<size_t>(b) * t);
  const uint64_t total = static_cast<uint64_t>(cumulative_starts_.back());
  for (int i = 0; i < b; ++i) {
    const int64_t global = static_cast<int64_t>(rng() % total);
    const size_t h = std::upper_bound(cumulative_starts_.begin(),
                                      cumulative_starts_.end(), global) -
                     cumulative_starts_.begin();
    const int64_t start = global - (h == 0 ? 0 : cumulative_starts_[h - 1]);
    const History& hist = histories_[h];
    AppendTransitions(hist, start, t, d, w);
    w.history_ids.push_back(hist.history_id);
    w.starts.push_back(static_cast<uint64_t>(start));
  }
  return w;
}

}  // namespace ad::learner
