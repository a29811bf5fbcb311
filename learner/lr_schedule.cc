#include "learner/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace ad::learner {

double LearningRate(const TrainOptions& options, int64_t step) {
  step = std::max<int64_t>(step, 0);
  if (step < options.warmup_steps) {
    double frac = static_cast<double>(step) / options.warmup_steps;
    return options.lr_init + frac * (options.lr_peak - options.lr_init);
  }
  const int64_t decay_steps = options.steps - options.warmup_steps;
  if (decay_steps <= 0 || step >= options.steps) return options.lr_final;
  double frac = static_cast<double>(step - options.warmup_steps) / decay_steps;
  double cosine = 0.5 * (1.0 + std::cos(M_PI * frac));
  return options.lr_final + cosine * (options.lr_peak - options.lr_final);
}

}  // namespace ad::learner
