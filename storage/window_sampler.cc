#include "storage/window_sampler.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "common/text_escape.h"

namespace ad::storage {

absl::Status WindowFilter::Validate() const {
  if (split != kTrainSplit && split != kTestSplit) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.split is '", BoundedEcho(split),
                     "'; must be 'train' or 'test'"));
  }
  return absl::OkStatus();
}

absl::Status WindowSampler::Options::Validate() const {
  AD_RETURN_IF_ERROR(filter.Validate());
  if (window_len == 0 || window_len > kMaxWindowLen) {
    return absl::InvalidArgumentError(absl::StrCat("window_len is ", window_len,
                                                   "; must lie in [1, ",
                                                   kMaxWindowLen, "]"));
  }
  if (batch_size == 0 || batch_size > kMaxBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat("batch_size is ", batch_size,
                                                   "; must lie in [1, ",
                                                   kMaxBatchSize, "]"));
  }
  if (discovery_episodes > kMaxDiscoveryEpisodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("discovery_episodes is ", discovery_episodes,
                     "; must lie in [0, ", kMaxDiscoveryEpisodes, "]"));
  }
  if (refresh_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("refresh_interval must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WindowSampler>> WindowSampler::Create(
    const TrajectoryStore* store, const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<WindowSampler>(new WindowSampler(store, options));
}

std::vector<size_t> KeptEpisodes(size_t episodes, uint32_t stride,
                                 uint32_t discovery_episodes,
                                 int64_t first_rewarded, uint32_t phase) {
  std::vector<size_t> kept;
  stride = std::max<uint32_t>(stride, 1);
  phase %= stride;
  if (discovery_episodes == 0 || first_rewarded < 0 ||
      static_cast<uint64_t>(first_rewarded) >= episodes) {
    for (size_t e = phase; e < episodes; e += stride) kept.push_back(e);
    return kept;
  }
  const size_t d = static_cast<size_t>(first_rewarded);
  const size_t dense_from =
      d + 1 > discovery_episodes ? d + 1 - discovery_episodes : 0;
  for (size_t e = phase; e < dense_from; e += stride) kept.push_back(e);
  for (size_t e = dense_from; e <= d; ++e) kept.push_back(e);
  for (size_t e = d + stride; e < episodes; e += stride) kept.push_back(e);
  return kept;
}

WindowSampler::WindowSampler(const TrajectoryStore* store,
                             const Options& options)
    : store_(store), options_(options), next_batch_(options.first_batch) {}

absl::Status WindowSampler::Refresh(bool force) {
  const uint64_t version = store_->version();
  if (have_view_ && version == view_version_) return view_error_;
  const absl::Time now = absl::Now();
  if (have_view_ && !force && now - view_time_ < options_.refresh_interval) {
    return view_error_;
  }
  const WindowFilter& f = options_.filter;
  const uint64_t len = options_.window_len;
  const uint32_t stride = std::max<uint32_t>(options_.episode_stride, 1);
  absl::flat_hash_map<std::string, bool> listed;  // task id -> seen
  for (const std::string& t : f.task_ids) listed[t] = false;

  ++rescans_;
  view_.clear();
  cumulative_.clear();
  obs_dim_ = 0;
  matching_transitions_ = 0;
  matching_histories_ = 0;
  longest_ = 0;
  view_error_ = absl::OkStatus();
  store_->VisitHistories([&](uint32_t index, const HistoryRecord& r,
                             const TrajectoryStore::EpisodeIndex& episodes) {
    const absl::Span<const uint64_t> episode_ends = episodes.ends;
    if (!f.env.empty() && r.env != f.env) return;
    if (!listed.empty()) {
      auto it = listed.find(r.task_id);
      if (it == listed.end()) return;
      it->second = true;
      if (r.split != f.split && view_error_.ok()) {
        view_error_ = absl::InvalidArgumentError(
            absl::StrCat("filter.task_ids names '", BoundedEcho(r.task_id),
                         "', which is in split '", r.split,
                         "'; the filter samples split '", f.split, "'"));
      }
    }
    if (r.split != f.split) return;
    if (!f.source.empty() && r.source != f.source) return;
    if (f.complete_only && !r.complete) return;
    if (r.length == 0) return;
    if (obs_dim_ == 0) obs_dim_ = r.obs_dim;
    if (r.obs_dim != obs_dim_ && view_error_.ok()) {
      view_error_ = absl::InvalidArgumentError(
          absl::StrCat("the filter matches histories with obs_dim ", obs_dim_,
                       " and ", r.obs_dim, " (e.g. '",
                       BoundedEcho(r.history_id), "'); narrow it by env"));
    }
    // One candidate per phase of the stride (just phase 0 without
    // random_phase); the history counts once in the totals, by phase 0.
    const uint32_t phases = stride > 1 && options_.random_phase ? stride : 1;
    for (uint32_t phase = 0; phase < phases; ++phase) {
      Candidate c;
      c.index = index;
      if (stride == 1) {
        c.length = r.length;
      } else {
        for (size_t e : KeptEpisodes(episode_ends.size(), stride,
                                     options_.discovery_episodes,
                                     episodes.first_rewarded, phase)) {
          const uint64_t begin = e == 0 ? 0 : episode_ends[e - 1];
          c.segments.push_back(
              Segment{begin, episode_ends[e] - begin, c.length});
          c.length += episode_ends[e] - begin;
        }
      }
      if (phase == 0) {
        ++matching_histories_;
        matching_transitions_ += c.length;
      }
      longest_ = std::max(longest_, c.length);
      if (c.length < len) continue;
      c.history_id = r.history_id;
      const uint64_t valid = c.length - len + 1;
      cumulative_.push_back(valid_starts() + valid);
      view_.push_back(std::move(c));
    }
  });
  unknown_tasks_.clear();
  for (const std::string& t : f.task_ids) {
    if (!listed[t]) unknown_tasks_.push_back(t);
  }
  have_view_ = true;
  view_version_ = version;
  view_time_ = now;
  return view_error_;
}

absl::Status WindowSampler::EmptyViewError() const {
  if (!unknown_tasks_.empty()) {
    // A few of them, each cut short: the message must stay small.
    constexpr size_t kShown = 5;
    std::vector<std::string> shown;
    for (size_t i = 0; i < unknown_tasks_.size() && i < kShown; ++i) {
      shown.push_back(BoundedEcho(unknown_tasks_[i]));
    }
    return absl::NotFoundError(absl::StrCat(
        "filter.task_ids names ", unknown_tasks_.size(),
        " tasks unknown to the store: ", absl::StrJoin(shown, ", "),
        unknown_tasks_.size() > kShown ? ", ..." : ""));
  }
  if (matching_histories_ == 0) {
    return absl::NotFoundError(absl::StrCat(
        "no stored history matches the filter (env '",
        BoundedEcho(options_.filter.env), "', split '", options_.filter.split,
        "', source '", BoundedEcho(options_.filter.source), "', ",
        options_.filter.task_ids.size(), " task ids",
        options_.filter.complete_only ? ", complete only" : "", ")"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "window_len ", options_.window_len, " exceeds every matching history",
      options_.episode_stride > 1 ? " after episode subsampling" : "",
      " (longest: ", longest_, " transitions)"));
}

uint64_t WindowSampler::Shortfall(uint64_t min_transitions) const {
  uint64_t shortfall = 0;
  if (matching_transitions_ < min_transitions) {
    shortfall = min_transitions - matching_transitions_;
  }
  if (valid_starts() == 0) {
    // Some history must grow from the longest one's length to window_len.
    shortfall = std::max<uint64_t>(
        shortfall, options_.window_len -
                       std::min<uint64_t>(longest_, options_.window_len));
  }
  return std::max<uint64_t>(shortfall, 1);
}

absl::Status WindowSampler::WaitUntilReady(
    uint64_t min_transitions, absl::Time deadline,
    absl::FunctionRef<bool()> cancelled) {
  while (true) {
    const TrajectoryStore::Progress seen = store_->progress();
    AD_RETURN_IF_ERROR(Refresh(/*force=*/true));
    if (min_transitions == 0) {
      if (!unknown_tasks_.empty() || valid_starts() == 0) {
        return EmptyViewError();
      }
      return absl::OkStatus();
    }
    if (matching_transitions_ >= min_transitions && valid_starts() > 0) {
      return absl::OkStatus();
    }
    // The view can only become ready once histories are created, completed
    // or deleted, or the matching transitions grow by the shortfall; they
    // grow no faster than the store's appended transitions (subsampling
    // only keeps fewer), so rescanning before that is wasted work.
    const uint64_t target =
        seen.appended_transitions + Shortfall(min_transitions);
    while (true) {
      if (cancelled()) return absl::CancelledError("sampling was cancelled");
      const absl::Time now = absl::Now();
      if (now >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("waited for ", min_transitions,
                         " matching transitions; have ", matching_transitions_,
                         " with ", valid_starts(), " valid window starts"));
      }
      // Wakes at the latest every 100 ms to poll `cancelled`.
      if (store_->WaitForProgress(
              target, seen.structure,
              std::min(deadline, now + absl::Milliseconds(100)))) {
        break;
      }
    }
  }
}

absl::Status WindowSampler::Next(WindowBatch* batch) {
  AD_RETURN_IF_ERROR(Refresh(/*force=*/false));
  // A history deleted since the view was built fails its copy; the batch is
  // then redrawn from a fresh view (same random stream), which no longer
  // holds it.
  for (int attempt = 0;; ++attempt) {
    absl::Status drawn = DrawBatch(batch);
    if (drawn.ok() || attempt >= 3 || store_->version() == view_version_) {
      return drawn;
    }
    AD_RETURN_IF_ERROR(Refresh(/*force=*/true));
  }
}

absl::Status WindowSampler::DrawBatch(WindowBatch* batch) {
  if (valid_starts() == 0) return EmptyViewError();
  const uint32_t b = options_.batch_size, len = options_.window_len;
  batch->batch_size = b;
  batch->window_len = len;
  batch->transitions.Resize(obs_dim_, static_cast<size_t>(b) * len);
  batch->history_ids.resize(b);
  batch->starts.resize(b);
  rng_.seed(HashSeed(HashSeed(options_.seed) ^ next_batch_));
  std::uniform_int_distribution<uint64_t> pick(0, valid_starts() - 1);
  for (uint32_t w = 0; w < b; ++w) {
    const uint64_t u = pick(rng_);
    const size_t c =
        std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
        cumulative_.begin();
    const uint64_t start = u - (c == 0 ? 0 : cumulative_[c - 1]);
    AD_RETURN_IF_ERROR(CopyWindow(view_[c], start, w, batch));
  }
  ++next_batch_;
  return absl::OkStatus();
}

absl::Status WindowSampler::CopyWindow(const Candidate& c, uint64_t sub_start,
                                       size_t slot, WindowBatch* batch) const {
  const uint64_t len = options_.window_len;
  const size_t row = slot * len;
  Transitions& t = batch->transitions;
  auto dst = [&](uint64_t offset) {
    const size_t at = row + offset;
    return TrajectoryStore::TransitionPointers{
        t.obs.data() + at * obs_dim_, t.actions.data() + at,
        t.rewards.data() + at, t.dones.data() + at};
  };
  batch->history_ids[slot] = c.history_id;
  if (c.segments.empty()) {
    batch->starts[slot] = sub_start;
    return store_->CopyTransitions(c.index, sub_start, len, dst(0));
  }
  // Walk the kept episodes from the one holding sub_start.
  size_t s = std::upper_bound(c.segments.begin(), c.segments.end(), sub_start,
                              [](uint64_t v, const Segment& seg) {
                                return v < seg.sub_begin;
                              }) -
             c.segments.begin() - 1;
  batch->starts[slot] =
      c.segments[s].begin + (sub_start - c.segments[s].sub_begin);
  uint64_t done = 0;
  while (done < len) {
    const Segment& seg = c.segments[s];
    const uint64_t skip = sub_start + done - seg.sub_begin;
    const uint64_t k = std::min(len - done, seg.length - skip);
    AD_RETURN_IF_ERROR(
        store_->CopyTransitions(c.index, seg.begin + skip, k, dst(done)));
    done += k;
    ++s;
  }
  return absl::OkStatus();
}

}  // namespace ad::storage
