// A3C, the source algorithm of the paper's Dark environments (Table 4), as a
// synchronous batched advantage actor-critic (A2C-style) in LibTorch.
//
// The `num_streams` streams of a task are split into learners of
// `actors_per_learner` consecutive streams each (0: one learner for all
// streams, the paper's distributed A3C; 1: every stream is its own
// single-stream A3C, the setting of the paper's Fig. 6 / Appendix I). Each
// environment step runs one forward pass for every stream at once, and
// every `rollout_len` steps one Adam step per learner is taken on its own
// rollout (rollout_len x actors_per_learner transitions), with GAE(lambda)
// advantages, a value loss and an entropy bonus. All learners are batched
// into one set of tensors with a leading learner dimension, so many
// single-stream learners cost about as much as one shared one. This is the
// documented, deterministic stand-in for the paper's asynchronous actors:
// the streams act with their learner's current policy and each stream's
// history is recorded separately, which is what AD's data needs.
//
// Why the split matters for AD (docs/science.md): with one shared learner a
// stream's policy improves from the other streams' rewards, which its own
// history (AD's context) never shows; with its own learner, every change of
// a stream's policy is caused by experience inside that stream's history.
//
// Network: observations one-hot encoded per component (Dark Room (x, y) -> 18
// features), `layers` x `hidden` ReLU MLP trunk (3 x 128), a policy head
// (initialised 100x smaller by default, so the first policy is
// near-uniform) and a value head. Episode ends are terminal (no bootstrap): the
// observation has no clock. Weights are initialised from the agent's seed
// (thread-safe, reproducible); actions are sampled with a per-task generator.
//
// Preset keys (prefix "a3c."): learning_rate, discount, gae_lambda,
// entropy_cost, value_cost, rollout_len, hidden, layers, adam_beta1,
// adam_beta2, adam_eps, max_grad_norm (0: no clipping; per learner),
// actors_per_learner (0: all streams share one learner), value_init,
// policy_init_gain.
#ifndef AD_ACTORS_A3C_H_
#define AD_ACTORS_A3C_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

struct A3cOptions {
  double learning_rate = 1e-4;  // Table 4
  double discount = 0.99;       // Table 4
  double gae_lambda = 0.95;     // Table 4
  double entropy_cost = 0.01;   // Table 4
  double value_cost = 0.5;      // weight of the squared-error value loss
  int rollout_len = 20;         // env steps per update (one Dark Room episode)
  int hidden = 128;             // Table 4: MLP hidden dim
  int layers = 3;               // Table 4: MLP layers
  double adam_beta1 = 0.9;      // Table 4
  double adam_beta2 = 0.999;    // Table 4
  double adam_eps = 1e-6;       // Table 4
  double max_grad_norm = 0;     // 0: no clipping (Table 4 has none)
  int actors_per_learner = 0;   // streams per learner; 0: all streams
  // Initial output of the value head (its bias; weights drawn as usual).
  // 0 is the usual critic. A value above what the pre-reward states are
  // worth is an optimistic critic: every step taken before any reward has
  // a negative advantage, more so where the critic has already learned the
  // state is worth nothing, so the policy is pushed away from what it has
  // tried -- systematic exploration learned from the stream's own zero
  // rewards (docs/science.md).
  double value_init = 0;
  // Init range of the policy head, as a multiple of 1/sqrt(fan_in). The
  // default 0.01 makes the first policy near-uniform (a random walk); a
  // gain near 1 gives every learner its own peaked first policy, so
  // different streams start by walking in different directions.
  double policy_init_gain = 0.01;
  // Exploration bonus from the learner's own experience: each step that
  // arrives in a state this learner has entered N times before (counting
  // this one) adds visit_bonus / sqrt(N) to the reward it *trains* on. The
  // recorded history keeps the environment's reward; AD never sees the
  // bonus, only the behaviour it causes. Counts are per learner (with
  // actors_per_learner = 1, per stream) over the whole run, so the bonus
  // fades as the learner has been everywhere. 0: off (the paper's A3C).
  double visit_bonus = 0;
  static absl::StatusOr<A3cOptions> FromParams(const SourceParams& p);
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeA3cAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_A3C_H_
