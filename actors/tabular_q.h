// Tabular Q-learning: a fast source for small CPU runs and tests.
//
// Every stream is an independent learner with its own table over
// (observation, action) (for Dark Room the observation (x, y) is the state:
// the goal is fixed within a task and rewarded on every step spent on it, so
// the task is Markov in (x, y)). Epsilon-greedy behaviour with epsilon
// annealed linearly from epsilon_start to epsilon_end over the first
// epsilon_decay_fraction of the stream's episode budget; optimistic initial
// values (q_init) make the greedy policy sweep unvisited actions. An episode
// end is treated as terminal (no bootstrap): the observation has no clock.
//
// Preset keys (prefix "tabular_q."): learning_rate, discount, q_init,
// epsilon_start, epsilon_end, epsilon_decay_fraction.
#ifndef AD_ACTORS_TABULAR_Q_H_
#define AD_ACTORS_TABULAR_Q_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

struct TabularQOptions {
  double learning_rate = 0.5;  // alpha
  double discount = 0.9;       // gamma
  double q_init = 1.0;         // initial value of every entry
  double epsilon_start = 0.2;
  double epsilon_end = 0.0;
  double epsilon_decay_fraction = 0.5;  // of the episode budget
  static absl::StatusOr<TabularQOptions> FromParams(const SourceParams& p);
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeTabularQAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_TABULAR_Q_H_
