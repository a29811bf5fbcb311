// The state of one FusedTrainingStep (fused_step.h): borrowed handles to the
// model's parameters, the activations saved for backward and the workspaces,
// sized for the largest batch seen and reused. Its methods are the forward
// and backward of each part of the model -- embedding, attention,
// transformer layer, loss -- in fused_step_layers.cc; set-up, input checks
// and the whole step are in fused_step.cc.
//
// Internal to learner/fused_step*.cc; nothing else includes this header.
#ifndef AD_LEARNER_FUSED_STEP_INTERNAL_H_
#define AD_LEARNER_FUSED_STEP_INTERNAL_H_

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "learner/fused_step.h"
#include "learner/fused_step_kernels.h"
#include "learner/fused_step_ops.h"
#include "learner/model.h"

namespace ad::learner {

struct FusedTrainingStep::Impl {
  using Site = fused_internal::Site;
  using LayerNormParams = fused_internal::LayerNormParams;

  struct Layer {
    torch::Tensor qkv_w, qkv_b, proj_w, proj_b, fc1_w, fc1_b, fc2_w, fc2_b;
    LayerNormParams norm1, norm2;
  };
  // Saved for backward, per layer. n1 / n2 (the LayerNorm outputs) are
  // only separate tensors for pre-norm; with post-norm h is norm1's output
  // and out is norm2's.
  struct Activations {
    torch::Tensor xhat1, rstd1, n1, qkv, probs, att, h, xhat2, rstd2, n2, f,
        out;
  };

  ADModel model{nullptr};
  ModelOptions o;
  std::vector<int64_t> obs_offsets;
  int64_t obs_rows = 0;  // rows of the observation table
  torch::Tensor obs_table, action_table, reward_w, reward_b, boundary, mask,
      pos, head_w, head_b;
  LayerNormParams final_norm;
  std::vector<Layer> layers;

  int64_t b = 0, t = 0, n = 0;  // the shapes the workspaces are sized for
  torch::Tensor x0, xhat_f, rstd_f, z, logits, dlogits;
  std::vector<Activations> acts;
  torch::Tensor s1, s2, sf, sf2, dqkv, dx;  // scratch
  std::vector<uint8_t> masked;
  std::vector<double> row_loss;
  std::vector<uint8_t> row_correct;

  void Allocate(int64_t batch, int64_t window);
  absl::Status CheckInput(const ModelInput& input,
                          const torch::Tensor& targets) const;
  void Embed(const ModelInput& input, const Site& mask_site,
             const Site& drop_site);
  void EmbedBackward(const ModelInput& input, const Site& drop_site,
                     bool mask_used);
  void Attention(const Activations& a, const Site& drop);
  void AttentionBackward(const Activations& a, const Site& drop);
  void LayerForward(size_t l, const torch::Tensor& in, const Site* sites);
  void LayerBackward(size_t l, const torch::Tensor& in, const Site* sites);
  void Loss(const torch::Tensor& targets, double smoothing, double* loss,
            double* accuracy);
};

}  // namespace ad::learner

#endif  // AD_LEARNER_FUSED_STEP_INTERNAL_H_
