// The opening both learner benchmarks share (learner_bench, icrl_probe):
// the learner config from a preset with the key=value overrides of a --set
// flag, and LibTorch's thread count. Dies on a bad preset, override or
// thread count (a benchmark's command line is the programmer's).
#ifndef AD_BENCH_LEARNER_BENCH_CONFIG_H_
#define AD_BENCH_LEARNER_BENCH_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "common/overrides.h"
#include "glog/logging.h"
#include "learner/config.h"
#include "learner/device.h"

namespace ad::bench {

// LoadConfig(preset) with the `overrides` of a --set flag
// ("key=value;...", common/overrides.h) applied, after
// ConfigureThreads(threads).
inline learner::LearnerConfig LoadBenchConfig(const std::string& preset,
                                              const std::string& overrides,
                                              int threads) {
  absl::StatusOr<learner::LearnerConfig> config = learner::LoadConfig(preset);
  CHECK(config.ok()) << config.status();
  absl::Status s = learner::ApplyOverrides(SplitOverrides(overrides), *config);
  CHECK(s.ok()) << s;
  CHECK(learner::ConfigureThreads(threads).ok());
  return *std::move(config);
}

}  // namespace ad::bench

#endif  // AD_BENCH_LEARNER_BENCH_CONFIG_H_
