// Exports a trained AD policy as a TorchScript module that Python (and any
// LibTorch program) can load without this project:
//
//   m = torch.jit.load("policy.ts")
//   logits = m(obs, prev_action, prev_reward, prev_done)   # [B, T, A]
//
// with obs int64 [B, T, obs_dim], prev_action int64 [B, T] (-1: none),
// prev_reward float [B, T], prev_done float [B, T] (optional) -- the token
// layout of model.h. The module also has next_action_logits(...) -> [B, A].
// It always runs in inference mode (no dropout, no sequence mask).
//
// The module's code is generated TorchScript source that mirrors
// ADModelImpl op for op; its parameters are copies of the model's, on CPU.
// Blocks on file I/O only.
#ifndef AD_LEARNER_EXPORT_H_
#define AD_LEARNER_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "learner/model.h"

namespace ad::learner {

// Writes the TorchScript module for `model` to `path` (atomically).
// UNIMPLEMENTED for the pixel encoder (its module source is not written).
absl::Status ExportTorchScript(const ADModel& model, const std::string& path);

}  // namespace ad::learner

#endif  // AD_LEARNER_EXPORT_H_
