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
// Observations pass through an ObservationEncoder (actors/torch_util.h) and
// the replay keeps its byte codes. `torso: mlp` (the default): one-hot
// features into a ReLU MLP of `layers` x `hidden`, for the discrete
// families. `torso: conv`: the pixel families (Watermaze): frames averaged
// over `pixel_downsample` x `pixel_downsample` blocks (1: the full 72 x 96),
// scaled to [0, 1], into Table 5's ResNet torso (actors/grouped_conv.h:
// `conv_channels` stages of conv `conv_kernel` / `conv_stride`, max pool
// `pool_kernel` / `pool_stride`, `conv_res_blocks` residual blocks each),
// then the same MLP and Q head. Conv torsos are grouped like the MLPs, so
// `actors_per_learner` works with either torso.
//
// Preset keys (prefix "dqn."): learning_rate, discount, lambda, hidden,
// layers, batch_size, sequence_len, sequence_overlap, replay_capacity,
// min_replay, train_every, target_update_period, epsilon_start, epsilon_end,
// epsilon_decay_fraction, max_grad_norm (per learner), adam_eps,
// actors_per_learner, torso, conv_channels (comma-separated), conv_kernel,
// conv_stride, pool_kernel, pool_stride, conv_res_blocks, pixel_downsample.
#ifndef AD_ACTORS_DQN_H_
#define AD_ACTORS_DQN_H_

#include <memory>
#include <string>
#include <vector>

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
  double epsilon_end = 0.01;                      // Table 5
  double epsilon_decay_fraction = 0.5;            // of the episode budget
  double max_grad_norm = 10;                      // Table 5
  double adam_eps = 1e-6;                         // Table 5
  int actors_per_learner = 0;                     // streams per learner; 0: all
  std::string torso = "mlp";                      // "mlp" or "conv" (pixels)
  std::vector<int> conv_channels = {32, 64, 64};  // per stage (Table 5)
  int conv_kernel = 3;                            // Table 5
  int conv_stride = 1;                            // Table 5
  int pool_kernel = 3;                            // Table 5
  int pool_stride = 2;                            // Table 5
  int conv_res_blocks = 2;   // per stage (IMPALA's ResNet; not in Table 5)
  int pixel_downsample = 1;  // average d x d pixel blocks first; 1: none
  static absl::StatusOr<DqnOptions> FromParams(const SourceParams& p);
  // INVALID_ARGUMENT naming the first bad key ("dqn.<key>").
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeDqnAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_DQN_H_
