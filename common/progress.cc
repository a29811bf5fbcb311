#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace ad {

Progress::Progress(std::string label, std::string unit, uint64_t total,
                   absl::Duration min_interval)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      min_interval_(min_interval),
      start_(absl::Now()),
      last_draw_(absl::InfinitePast()),
      tty_(isatty(STDERR_FILENO) != 0) {}

void Progress::Update(uint64_t done, const std::string& extra) {
  if (!started_ || done < first_done_) {  // first call, or a restart
    started_ = true;
    first_done_ = done;
    first_time_ = absl::Now();
  }
  done_ = done;
  extra_ = extra;
  if (absl::Now() - last_draw_ >= min_interval_) Draw(/*final_line=*/false);
}

void Progress::Finish(const std::string& extra) {
  if (!extra.empty()) extra_ = extra;
  Draw(/*final_line=*/true);
}

std::string Progress::FormatDuration(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s < 0) s = 0;
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

void Progress::Draw(bool final_line) {
  const absl::Time now = absl::Now();
  last_draw_ = now;
  const double secs = started_ ? absl::ToDoubleSeconds(now - first_time_) : 0;
  const double rate =
      secs > 0 ? static_cast<double>(done_ - first_done_) / secs : 0.0;
  std::string line;
  if (total_ > 0) {
    const double frac =
        static_cast<double>(done_) / static_cast<double>(total_);
    std::string eta = "?";
    if (rate > 0 && done_ <= total_) {
      eta = FormatDuration(absl::Seconds((total_ - done_) / rate));
    }
    line = absl::StrFormat(
        "[%s] %llu/%llu %s (%5.1f%%) %.1f %s/s elapsed %s ETA %s", label_,
        done_, total_, unit_, 100.0 * frac, rate, unit_,
        FormatDuration(now - start_), eta);
  } else {
    line = absl::StrFormat("[%s] %llu %s %.1f %s/s elapsed %s", label_, done_,
                           unit_, rate, unit_, FormatDuration(now - start_));
  }
  if (!extra_.empty()) absl::StrAppend(&line, " | ", extra_);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace ad
