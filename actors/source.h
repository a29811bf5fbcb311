// The interface every source RL algorithm implements, and what it is given.
//
// A SourceAgent learns one task with `num_streams` parallel actor streams,
// one environment instance each. The task runner (actors/task_runner.h) owns
// the environment, the loop and the recording; the agent only chooses actions
// and learns, in two batched calls per environment step:
//
//   Act(obs of every stream)             -> one action per stream
//   Observe(obs, actions, rewards, dones, next obs of every stream)
//
// so an agent never touches threads, sinks or the env service (EnvPool-style:
// a new source is an Act/Observe pair, one file pair and one registration
// line in actors/source_registry.cc). Whether the streams share one learner
// (A3C, DQN) or are independent learners (tabular Q, UCB) is the agent's
// business; either way each stream's history is recorded separately.
//
// An agent is used by one thread; different agents run concurrently.
#ifndef AD_ACTORS_SOURCE_H_
#define AD_ACTORS_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "envs/env.h"

namespace ad::actors {

// What an agent is built for.
struct TaskSpec {
  envs::SpaceSpec space;
  std::string task_id;
  int num_streams = 1;          // environment instances, one per stream
  int episodes_per_stream = 1;  // the run's budget; schedules may use it
  uint64_t seed = 0;            // seeds the agent's own randomness
};

// One batched step, every span indexed by stream (obs: stream * obs_dim).
struct StepView {
  absl::Span<const int32_t> obs;       // what each stream saw
  absl::Span<const int32_t> actions;   // what it did
  absl::Span<const float> rewards;     // what it got
  absl::Span<const uint8_t> dones;     // 1: the step ended the episode
  absl::Span<const int32_t> next_obs;  // after the step; for a done stream
                                       // the next episode's first obs
};

class SourceAgent {
 public:
  virtual ~SourceAgent() = default;

  // True if Act needs the environment's expert actions (the noisy expert);
  // the runner then calls BatchedEnv::ExpertActions before each Act.
  virtual bool UsesExpertActions() const { return false; }

  // Writes one action per stream into `actions` for the observations `obs`.
  // `expert` holds the expert's actions when UsesExpertActions(), else is
  // empty.
  virtual absl::Status Act(absl::Span<const int32_t> obs,
                           absl::Span<const int32_t> expert,
                           absl::Span<int32_t> actions) = 0;

  // Learns from the step just taken (every stream's transition).
  virtual absl::Status Observe(const StepView& step) = 0;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_SOURCE_H_
