// R-max-style model-based exploration: a source that explores systematically.
//
// Every stream is an independent learner (as in tabular Q) that builds a
// model of its task from its own transitions and plans on it before every
// action (value iteration, discount `discount`). Optimism in the face of
// uncertainty, as in R-max (Brafman & Tennenholtz 2002), makes it explore:
// entering a state it has never visited is worth `novelty_value`, once (as
// R-max's unknown pairs lead to an absorbing state; the plan may go on
// through it only for what it finds beyond, never for more novelty).
// So the stream walks to the nearest unvisited state until a reward shows
// up, then goes back to it by the shortest path it can predict: it learns a
// Dark Room task in a handful of episodes, and its history is a systematic
// search followed by exploitation, every change of behaviour caused by
// something in its own history.
//
// The model, all of it learned from the stream's own transitions:
//  - for a (state, action) pair it has tried: the next state and reward it
//    saw (deterministic dynamics, true of every Dark family; a pair seen
//    twice keeps its latest outcome);
//  - for a pair it has not tried: the action's usual effect, i.e. the change
//    of observation this action has caused most often anywhere (an
//    observation leaving the space's range means staying put), and the
//    reward last seen on entering that observation. This is the one prior:
//    an action does the same thing everywhere. Until an action has been
//    tried once, its untried pairs are worth `novelty_value` like a new
//    state. Without this generalisation a tabular R-max tries every action
//    in every cell (5 steps a cell in Dark Room) and follows whichever path
//    it happened to walk, not the shortest one.
//
// Dark environments whose reward depends on what happened earlier in the
// episode (Dark Room Hard pays once; Key-to-Door pays the door only after the
// key) are not Markov in (x, y); with reward_memory = m > 1 the state is
// (observation, min(rewarded steps this episode, m - 1)), the agent's own
// memory, as in actors/tabular_q.h. A transition that ends an episode does
// not say where it led (its next observation is the next episode's start):
// it is recorded only if it paid, as "this pair pays r, then unknown".
//
// `novelty_value` must stay below a found reward's discounted worth, or the
// stream maps the whole room before exploiting: on Dark Room Hard (reward 1,
// once) a goal d steps away is worth discount^d, 0.46 at d = 15 with the
// default discount.
//
// Cost: value iteration runs only after the model changed, warm-started
// from the previous values, at most `max_sweeps` Gauss-Seidel sweeps over
// (states x actions). Observations must be small integer vectors (a table).
//
// Preset keys (prefix "rmax."): discount, novelty_value, reward_memory,
// max_sweeps.
#ifndef AD_ACTORS_RMAX_H_
#define AD_ACTORS_RMAX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "actors/source.h"
#include "actors/source_params.h"

namespace ad::actors {

struct RmaxOptions {
  double discount = 0.95;
  double novelty_value = 0.3;  // worth of entering an unvisited state
  int reward_memory = 0;       // > 1: state also counts rewards seen, capped
  int max_sweeps = 200;        // value-iteration sweeps per replan
  static absl::StatusOr<RmaxOptions> FromParams(const SourceParams& p);
  absl::Status Validate() const;
};

absl::StatusOr<std::unique_ptr<SourceAgent>> MakeRmaxAgent(
    const TaskSpec& spec, const SourceParams& params);

}  // namespace ad::actors

#endif  // AD_ACTORS_RMAX_H_
