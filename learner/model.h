// The Algorithm Distillation policy: a GPT-style causal transformer over an
// across-episodic window of transitions that predicts the next action.
//
// Token layout: ONE token per transition. For a window of c transitions
// (o_j, a_j, r_j, d_j) ... (o_{j+c-1}, ...), token t (0 <= t < c) is
//
//   x_t = E_obs(o_t) + E_act(a_{t-1}) + W_rew * r_{t-1} + d_{t-1} * e_boundary
//         + E_pos(t)
//
// and the output at token t is the distribution of a_t. At t = 0 the previous
// transition is not in the window: a_{-1} is the learned "none" action
// (index num_actions), r_{-1} = 0 and d_{-1} = 0. d_{t-1} = 1 marks o_t as the
// first observation of a new episode (the "episode boundary" marker). So a
// window of c transitions gives c predictions from c tokens, each seeing only
// tokens <= t (causal attention), i.e. exactly the preceding history and the
// current observation.
//
// Why not three tokens (o_t, a_t, r_t) per transition as in the paper's
// figure? The information available to the prediction of a_t is the same;
// three tokens make the sequence 3x longer, so attention costs 9x and the
// rest 3x, two thirds of the outputs are discarded, and the position budget
// covers a third as many episodes. On a 2-core CPU that decides whether a
// multi-episode context is trainable at all. What three tokens would add --
// attending to a reward separately from the observation it follows -- is
// not needed for the small discrete observations used here. The summed
// token keeps the "state-action-reward tokens, no return conditioning" of
// the paper.
//
// Regularisers (training mode only): dropout on the embeddings, the residual
// branches and the MLP; attention dropout on the attention probabilities; and
// the sequence mask: each input token is replaced, with probability
// sequence_mask_prob, by a learned mask embedding (the position embedding is
// still added). Targets are never masked: a_t is only an input to tokens > t,
// which the prediction at t cannot see. Label smoothing lives in the loss
// (trainer.h).
//
// Observation encoders are a seam: ObservationEncoder maps [B, T, ...]
// observations to [B, T, D]; the discrete one sums one embedding table per
// observation component; the pixel one (pixel_encoder.h, Watermaze,
// Appendix L Table 3) is a conv net over each frame. MakeObservationEncoder
// picks one by model.obs_encoder.
//
// Threading: a model is used from one thread at a time (LibTorch modules are
// not thread-safe); LibTorch's intra-op pool parallelises each op.
// Inference: call eval() first (disables dropout and the sequence mask; the
// pixel encoder's BatchNorm then uses its running statistics) and wrap calls
// in torch::NoGradGuard.
#ifndef AD_LEARNER_MODEL_H_
#define AD_LEARNER_MODEL_H_

#include <torch/torch.h>

#include <memory>

#include "absl/status/statusor.h"
#include "learner/config.h"

namespace ad::learner {

// The model's input for a batch of windows, all on the model's device.
struct ModelInput {
  // [B, T, obs_dim], o_t: int64, or uint8 for pixel frames (1 byte per
  // channel value instead of 8: a 16 x 200 window batch of 72x96x3 frames
  // is 66 MB instead of 531 MB). Every encoder accepts either.
  torch::Tensor obs;
  torch::Tensor prev_actions;  // int64 [B, T], a_{t-1}; -1 = none (t = 0)
  torch::Tensor prev_rewards;  // float32 [B, T], r_{t-1}; 0 at t = 0
  torch::Tensor prev_dones;    // float32 [B, T], 1 if o_t starts an episode

  ModelInput To(const torch::Device& device) const;
};

// Builds the model input from T consecutive transitions per row:
// obs int [B, T, obs_dim], actions int [B, T], rewards float [B, T], dones
// (any numeric dtype) [B, T], where transition t is (o_t, a_t, r_t, d_t).
// uint8 obs stay uint8; other obs become int64.
// The inputs are shifted by one (see the token layout above), so the action,
// reward and done of the LAST transition are ignored: an evaluator appends
// the current observation with any placeholder action and reads the last
// position's logits. Used for training and evaluation alike, so both see the
// same layout. Dies on mismatched shapes (programmer error).
ModelInput TransitionsToInput(const torch::Tensor& obs,
                              const torch::Tensor& actions,
                              const torch::Tensor& rewards,
                              const torch::Tensor& dones);

// Maps observations [B, T, ...] to embeddings [B, T, embed_dim].
class ObservationEncoder : public torch::nn::Module {
 public:
  virtual torch::Tensor Encode(const torch::Tensor& obs) = 0;
  // True if ADModel's GPT-style init must leave this encoder's parameters
  // as its constructor set them.
  virtual bool InitializesItself() const { return false; }
};

// Sum over components i of E_i(obs[..., i]); obs values must lie in
// [0, obs_high[i]) (checked by the data path, see batch.h).
class DiscreteObservationEncoder : public ObservationEncoder {
 public:
  DiscreteObservationEncoder(const std::vector<int32_t>& obs_high,
                             int embed_dim);
  torch::Tensor Encode(const torch::Tensor& obs) override;

 private:
  torch::nn::Embedding table_{nullptr};  // sum(obs_high) rows
  torch::Tensor offsets_;                // int64 [obs_dim], buffer
};

// The encoder named by options.obs_encoder: "discrete" or "pixel"
// (pixel_encoder.h). INVALID_ARGUMENT naming the key if the options do not
// validate.
absl::StatusOr<std::shared_ptr<ObservationEncoder>> MakeObservationEncoder(
    const ModelOptions& options);

// Multi-head causal self-attention followed by an MLP, each with a residual
// connection, LayerNorm after (post-norm, paper) or before (pre-norm).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  explicit TransformerBlockImpl(const ModelOptions& options);

  // x [B, T, D], causal_bias [T, T] (0 on and below the diagonal, -inf
  // above). With last_only, returns only the last position's output
  // [B, 1, D] (the others are not computed past the attention keys/values).
  torch::Tensor forward(const torch::Tensor& x,
                        const torch::Tensor& causal_bias,
                        bool last_only = false);

  // Parameters, for the TorchScript exporter.
  torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};

 private:
  torch::Tensor Attention(const torch::Tensor& x_query,
                          const torch::Tensor& x_all,
                          const torch::Tensor& bias);

  int num_heads_;
  bool post_norm_;
  double dropout_;
  double attention_dropout_;
};
TORCH_MODULE(TransformerBlock);

class ADModelImpl : public torch::nn::Module {
 public:
  // Dies if options.Validate() fails; use CreateModel() for a status.
  explicit ADModelImpl(const ModelOptions& options);

  // Logits [B, T, num_actions] for every position. T <= context_len.
  torch::Tensor forward(const torch::Tensor& obs,
                        const torch::Tensor& prev_actions,
                        const torch::Tensor& prev_rewards,
                        const torch::Tensor& prev_dones);
  torch::Tensor Forward(const ModelInput& input);

  // Logits [B, num_actions] of the last position only: the evaluator's
  // "next action" call. Skips the last block's work for earlier positions
  // and the head for all but the last.
  torch::Tensor NextActionLogits(const ModelInput& input);

  const ModelOptions& options() const { return options_; }
  torch::Device device() const { return head->weight.device(); }
  int64_t NumParameters() const;

  // Parameters, for the TorchScript exporter (export.h).
  std::shared_ptr<ObservationEncoder> obs_encoder;
  torch::nn::Embedding action_embed{nullptr};  // num_actions + 1 rows
  torch::nn::Linear reward_proj{nullptr};      // 1 -> D
  torch::Tensor boundary_embed;                // [D]
  torch::Tensor mask_embed;                    // [D]
  torch::nn::Embedding pos_embed{nullptr};     // context_len rows
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm final_norm{nullptr};  // pre-norm only
  torch::nn::Linear head{nullptr};

 private:
  // Token embeddings [B, T, D] after masking, positions and dropout.
  torch::Tensor Embed(const ModelInput& input);
  torch::Tensor CausalBias(int64_t t);

  ModelOptions options_;
  torch::Tensor causal_bias_;  // [context_len, context_len], buffer
};
TORCH_MODULE(ADModel);

// Validates the options and builds a freshly initialised model (GPT-style
// init, N(0, 0.02) weights, zero biases, except an encoder that
// InitializesItself) on `device`.
absl::StatusOr<ADModel> CreateModel(const ModelOptions& options,
                                    const torch::Device& device);

}  // namespace ad::learner

#endif  // AD_LEARNER_MODEL_H_
