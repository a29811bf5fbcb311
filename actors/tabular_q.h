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
// Tasks that are not Markov in the observation (Dark Key-to-Door: (x, y)
// does not say whether the key is held) need the agent's own memory of the
// episode. With reward_memory = m > 1 the table's state is the pair
// (observation, min(rewards received so far this episode, m - 1)): the
// agent counts the rewarded steps it has seen, as a recurrent agent would
// remember them, and learns nothing it was not shown. 0 or 1: the
// observation alone (the default; right for Dark Room).
//
// Preset keys (prefix "tabular_q."): learning_rate, discount, q_init,
// epsilon_start, epsilon_end, epsilon_decay_fraction, reward_memory.
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
  int reward_memory = 0;  // > 1: state also counts rewards seen, capped
  static absl::StatusOr<TabularQOptions> FromParams(const SourceParams& p);
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeTabularQAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_TABULAR_Q_H_
