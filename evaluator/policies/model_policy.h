// The AD (or ED) transformer as an InContextPolicy: a frozen checkpoint of
// the learner's model (learner/model.h), rolled out with one batched forward
// per environment step over every row's context.
//
// Input per row: the past transitions of its context the window allows (see
// "context length" below), oldest first, then the current observation as the
// final token (the model's one-token-per-transition layout,
// learner::TransitionsToInput); the action is read from the last position's
// logits (learner::ADModel:: NextActionLogits). Every row holds the same number
// of transitions (rows advance in lockstep), so the batch is a dense [B, T]
// tensor, no padding. AD and ED are the same class over different checkpoints:
// ED's was trained on expert-only histories.
//
// The context length L: past transitions the model may see besides the
// current observation, L = min(Options::max_past resolved, the capacity of
// the ContextBuffer it is given). max_past 0 resolves to the model's window
// (context_len - 1); the experiments give L as --context_len or as each
// entry of --context_lens and size the rollout's buffer to it. Two ways to
// present the context (Options::window), both held to L:
//  * "slide" (default, the paper's queue): at every step the model gets the
//    last min(held, L) transitions and recomputes the whole window:
//    [B, min(held, L) + 1] tokens per forward.
//  * "chunk": keys and values of every layer are cached per row and each
//    step appends ONE token: the model sees a chunk of consecutive
//    transitions ending at the newest one, which grows by one per step.
//    Once the chunk holds L transitions, the next step restarts it with the
//    last floor(L / 2) transitions (recomputing them once). So with an empty
//    start the model sees 0, 1, .., L, floor(L / 2), .., L, floor(L / 2), ..
//    past transitions; it never sees more than L. (A call that does not
//    follow exactly one push, e.g. the first after a prompt, rebuilds the
//    chunk from the last min(held, L) transitions.) Each prediction is
//    exactly as in training (position t attends to positions 0..t of its
//    chunk), at ~2 tokens of compute per row and step instead of L + 1. The
//    cached forward re-implements the learner's block math over the model's
//    own parameters; a test holds it equal to a full forward
//    (ADModel::NextActionLogits) over the transitions stated above.
//
// Action choice: greedy (argmax; temperature 0) or sampling from
// softmax(logits / temperature) with a private random stream per row, drawn
// in C++ so the choice for a row does not depend on the rows beside it.
//
// The model never changes: it is put in eval mode and run under NoGradGuard.
// Act blocks for one forward. Used from one thread at a time.
#ifndef AD_EVALUATOR_POLICIES_MODEL_POLICY_H_
#define AD_EVALUATOR_POLICIES_MODEL_POLICY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rng.h"
#include "evaluator/policy.h"
#include "learner/config.h"
#include "learner/model.h"

namespace ad::evaluator {

// OK if a model trained with `model` can act in `space`: the same obs_dim
// and num_actions, and every observation component within the model's
// obs_high. Otherwise INVALID_ARGUMENT naming the field and both values.
absl::Status CheckModelFitsSpace(const learner::ModelOptions& model,
                                 const envs::SpaceSpec& space);

class ModelPolicy : public InContextPolicy {
 public:
  struct Options {
    std::string name = "ad";   // method name in curves ("ad", "ed", ...)
    double temperature = 0.0;  // 0: greedy; > 0: sample softmax(logits / T)
    // The context length L (above): past transitions the model sees besides
    // the current observation; 0: as many as its window allows
    // (context_len - 1). Larger values are rejected: the model has no
    // positions for them.
    int max_past = 0;
    // LibTorch intra-op threads, set process-wide on Load (>= 1).
    int threads = 2;
    std::string window = "slide";  // "slide" or "chunk" (see above)

    absl::Status Validate() const;
  };

  // Loads a learner checkpoint file. Errors name the path.
  static absl::StatusOr<std::unique_ptr<ModelPolicy>> Load(
      const std::string& checkpoint_path, const Options& options);

  // Wraps an existing model (a checkpoint loaded once and shared by several
  // policies, tests, the benchmark); `step` is its training step.
  // INVALID_ARGUMENT for bad options or a max_past beyond the model's window.
  static absl::StatusOr<std::unique_ptr<ModelPolicy>> FromModel(
      learner::ADModel model, const Options& options, int64_t step = 0);

  std::string name() const override { return options_.name; }
  // INVALID_ARGUMENT naming the field if `space` differs from what the model
  // was trained on (CheckModelFitsSpace).
  absl::Status Begin(const envs::SpaceSpec& space,
                     absl::Span<const RowSpec> rows) override;
  absl::Status Act(const ContextBatch& context, const envs::BatchedEnv& oracle,
                   absl::Span<int32_t> actions) override;

  // The (shared) model handle.
  learner::ADModel model() const { return model_; }
  const learner::ModelOptions& model_options() const {
    return model_->options();
  }
  // Past transitions the model is given (what max_past resolved to).
  int max_past() const { return max_past_; }
  // The training step of the loaded checkpoint (0 for FromModel).
  int64_t step() const { return step_; }

  // Logits [rows, num_actions] for `context` (what Act chooses from).
  absl::StatusOr<std::vector<float>> Logits(const ContextBatch& context);
  // Logits from a full forward over the last `past` transitions (<= held,
  // <= max_past) and the current observation.
  absl::StatusOr<std::vector<float>> FullLogits(const ContextBatch& context,
                                                int past);
  // Past transitions the cached chunk holds for `global_row` ("chunk").
  int cached_past(int global_row) const { return cache_len_[global_row] - 1; }

 private:
  ModelPolicy(learner::ADModel model, const Options& options, int max_past)
      : model_(std::move(model)), options_(options), max_past_(max_past) {}

  // "chunk": logits of the rows of `context`, appending one token to each
  // row's cache or rebuilding it from the context.
  absl::StatusOr<std::vector<float>> CachedLogits(const ContextBatch& context);
  // Runs tokens [b, T, D] at positions len .. len + T - 1 of rows
  // [first, first + b) through every layer, storing their keys and values;
  // returns the last position's logits [b, num_actions].
  torch::Tensor RunCached(torch::Tensor x, int first, int len);
  // Token embeddings [b, T, D] for the given per-token inputs, positions
  // starting at `pos`.
  torch::Tensor EmbedTokens(const std::vector<int32_t>& obs,
                            const std::vector<int32_t>& prev_actions,
                            const std::vector<float>& prev_rewards,
                            const std::vector<float>& prev_dones, int b, int t,
                            int pos);

  learner::ADModel model_;
  Options options_;
  int max_past_;
  int64_t step_ = 0;
  std::vector<SplitMix64> streams_;  // one per rollout row
  // "chunk" state, per rollout row: tokens cached, and the context's push
  // count when they were; keys / values per layer [rows, H, window, hd].
  std::vector<int> cache_len_;
  std::vector<int64_t> cache_pushes_;
  std::vector<torch::Tensor> keys_, values_;
};

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_POLICIES_MODEL_POLICY_H_
