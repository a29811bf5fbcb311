#include "envs/env.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "common/rng.h"
#include "glog/logging.h"

namespace ad::envs {

std::vector<std::string> EvenlySpacedTasks(std::vector<std::string> tasks,
                                           int n) {
  if (n <= 0 || static_cast<size_t>(n) >= tasks.size()) return tasks;
  std::vector<std::string> subset;
  subset.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    subset.push_back(std::move(
        tasks[static_cast<size_t>(i) * tasks.size() / static_cast<size_t>(n)]));
  }
  return subset;
}

TaskSplit EnvFamily::Split(double train_fraction, uint64_t seed) const {
  CHECK(train_fraction >= 0.0 && train_fraction <= 1.0)
      << "train_fraction = " << train_fraction << " is outside [0, 1]";
  const std::vector<std::string> tasks = AllTasks();
  const size_t n = tasks.size();

  // Fisher-Yates with our own generator, so the split is the same everywhere.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  SplitMix64 rng(Mix64(seed ^ 0x5b1175eed5b1175eULL));
  for (size_t i = n; i > 1; --i) {
    const size_t j = rng.NextBelow(static_cast<uint32_t>(i));
    std::swap(order[i - 1], order[j]);
  }

  // The first round(fraction * n) shuffled tasks train; each side is listed
  // in the family's stable order.
  const size_t num_train = static_cast<size_t>(
      std::llround(train_fraction * static_cast<double>(n)));
  std::vector<bool> is_train(n, false);
  for (size_t k = 0; k < num_train; ++k) is_train[order[k]] = true;
  TaskSplit split;
  split.train.reserve(num_train);
  split.test.reserve(n - num_train);
  for (size_t i = 0; i < n; ++i) {
    (is_train[i] ? split.train : split.test).push_back(tasks[i]);
  }
  return split;
}

}  // namespace ad::envs
