// The learning-rate schedule of Appendix L ("cosine decay, initial value
// 2e-6, peak value 3e-4"): linear warm-up from lr_init to lr_peak over
// warmup_steps, then half a cosine from lr_peak down to lr_final at `steps`,
// constant lr_final after that. A pure function of the step, so a resumed
// run continues on the same curve.
#ifndef AD_LEARNER_LR_SCHEDULE_H_
#define AD_LEARNER_LR_SCHEDULE_H_

#include <cstdint>

#include "learner/config.h"

namespace ad::learner {

// The rate for optimizer step `step` (0-based).
double LearningRate(const TrainOptions& options, int64_t step);

}  // namespace ad::learner

#endif  // AD_LEARNER_LR_SCHEDULE_H_
