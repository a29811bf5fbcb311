// Turns raw Windows (window_source.h) into a training batch of tensors:
// the model input in the one-token-per-transition layout (model.h) and the
// target actions. The Prefetcher runs this on its background thread.
//
// Observations become int64, or uint8 for the pixel encoder (model.h).
// Windows come from the network or from files, so everything is checked:
// shape, observation components against obs_high, actions against
// num_actions, finite rewards, 0/1 dones. A bad batch is INVALID_ARGUMENT
// naming the field, window and position -- never a crash inside LibTorch.
#ifndef AD_LEARNER_BATCH_H_
#define AD_LEARNER_BATCH_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "learner/config.h"
#include "learner/model.h"
#include "learner/window_source.h"

namespace ad::learner {

struct TrainingBatch {
  ModelInput input;                      // [B, T, ...] on the target device
  torch::Tensor targets;                 // int64 [B, T], a_t
  int64_t tokens = 0;                    // B * T predictions
  std::vector<std::string> history_ids;  // per window, as the source gave
};

absl::Status ValidateWindows(const Windows& windows,
                             const ModelOptions& options);

// Validates and converts; tensors are created on `device`.
absl::StatusOr<TrainingBatch> MakeTrainingBatch(const Windows& windows,
                                                const ModelOptions& options,
                                                const torch::Device& device);

}  // namespace ad::learner

#endif  // AD_LEARNER_BATCH_H_
