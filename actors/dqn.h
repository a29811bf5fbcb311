// DQN with Peng's Q(lambda) targets over replayed sequences: the paper's
// Watermaze source (Table 5), adapted to the Dark environments.
//
// The task's streams are split into learners of `actors_per_learner`
// consecutive streams (0: all streams share one Q-network and one replay, a
// distributed DQN with `num_streams` actors; 1: every stream is its own
// single-stream DQN with its own replay). All learners run batched in one
// set of tensors (actors/grouped_mlp.h); each samples only its own replay. Each
// stream acts epsilon-greedily, epsilon annealed linearly from epsilon_start to
// epsilon_end over the first epsilon_decay_fraction of its episode budget
// (Table 5's fixed 0.01 would not explore an unseen room from scratch). Every
// stream's transitions are cut into overlapping sequences of `sequence_len`
// transitions (consecutive sequences share `sequence_overlap`), which may cross
// episode boundaries. After every `train_every` batched steps, once the replay
// holds `min_replay` sequences, one Adam step is taken on `batch_size`
// sequences sampled uniformly, with targets computed backwards along each
// sequence:
//   G_t = r_t + gamma (1 - d_t) [(1 - lambda) max_a Q'(o_{t+1}, a)
//                                + lambda G_{t+1}],
// bootstrapped at the end of the sequence with max_a Q'(o_L, a), where Q' is
// a target network copied every `target_update_period` updates; Huber loss,
// gradient clipping at max_grad_norm (Table 5: 10).
//
// Observations pass through an ObservationEncoder (actors/torch_util.h): the
// one-hot encoder now, a pixel encoder for the Watermaze stand-in later.
//
// Preset keys (prefix "dqn."): learning_rate, discount, lambda, hidden,
// layers, batch_size, sequence_len, sequence_overlap, replay_capacity,
// min_replay, train_every, target_update_period, epsilon_start, epsilon_end,
// epsilon_decay_fraction, max_grad_norm (per learner), adam_eps,
// actors_per_learner.
#ifndef AD_ACTORS_DQN_H_
#define AD_ACTORS_DQN_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

struct DqnOptions {
  double learning_rate = 1e-4;  // Table 5
  double discount = 0.9;        // Table 5
  double lambda = 0.75;         // Table 5
  int hidden = 128;
  int layers = 2;
  int batch_size = 8;             // sequences per update (Table 5)
  int sequence_len = 40;          // transitions per sequence (Table 5)
  int sequence_overlap = 31;      // Table 5
  int replay_capacity = 2500;     // sequences (1e5 transitions / 40)
  int min_replay = 8;             // sequences before the first update
  int train_every = 1;            // batched env steps per update
  int target_update_period = 50;  // updates (Table 5)
  double epsilon_start = 1.0;
  double epsilon_end = 0.01;            // Table 5
  double epsilon_decay_fraction = 0.5;  // of the episode budget
  double max_grad_norm = 10;            // Table 5
  double adam_eps = 1e-6;               // Table 5
  int actors_per_learner = 0;           // streams per learner; 0: all
  static absl::StatusOr<DqnOptions> FromParams(const SourceParams& p);
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeDqnAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_DQN_H_
