// A single-line progress report for long jobs: done/total, rate and ETA.
//
// Callers update it from one thread; it redraws at most every `min_interval`
// on stderr (carriage return when stderr is a terminal, one line per report
// otherwise, so logs stay readable). Not thread-safe.
#ifndef AD_COMMON_PROGRESS_H_
#define AD_COMMON_PROGRESS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace ad {

class Progress {
 public:
  // `label` prefixes the line; `unit` names what is counted ("steps").
  // total == 0 means unknown (no ETA is shown).
  Progress(std::string label, std::string unit, uint64_t total,
           absl::Duration min_interval = absl::Seconds(1));

  // Sets the count done so far and an optional free-text suffix
  // ("loss 0.41 acc 0.83"); redraws if the interval has passed.
  void Update(uint64_t done, const std::string& extra = "");
  // Draws the final line and a newline.
  void Finish(const std::string& extra = "");

  // "1h02m", "3m07s", "12s".
  static std::string FormatDuration(absl::Duration d);

 private:
  void Draw(bool final_line);

  std::string label_;
  std::string unit_;
  uint64_t total_;
  absl::Duration min_interval_;
  absl::Time start_;
  absl::Time last_draw_;
  uint64_t done_ = 0;
  // The rate counts from the first Update (a job may resume part-way).
  bool started_ = false;
  uint64_t first_done_ = 0;
  absl::Time first_time_;
  std::string extra_;
  bool tty_;
};

}  // namespace ad

#endif  // AD_COMMON_PROGRESS_H_
