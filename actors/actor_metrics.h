// ActorMetrics: the actor process's Prometheus metrics, fed by the task
// runners through the RunObserver interface, and the counts its progress
// line reads.
//
//   ad_actor_env_steps_total{source}      environment steps recorded
//   ad_actor_episodes_total{source}       episodes completed
//   ad_actor_episode_return_mean{source}  mean return of the last 1000
//                                         episodes
//   ad_actor_tasks_completed_total        tasks whose streams all finished
//
// Thread-safe: OnSteps / OnEpisodes are called from every runner thread.
// The prometheus registry is shared with the /metrics exposer.
#ifndef AD_ACTORS_ACTOR_METRICS_H_
#define AD_ACTORS_ACTOR_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "actors/task_runner.h"

namespace ad::actors {

class ActorMetrics : public RunObserver {
 public:
  explicit ActorMetrics(std::shared_ptr<prometheus::Registry> registry);

  void OnSteps(const std::string& source, uint64_t steps) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnEpisodes(const std::string& source,
                  absl::Span<const float> returns) override
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnTaskCompleted();

  uint64_t env_steps() const { return env_steps_.load(); }
  uint64_t episodes() const { return episodes_.load(); }
  uint64_t tasks_completed() const { return tasks_.load(); }
  // Mean return of the last 1000 episodes of `source` (0 if none).
  double RecentMeanReturn(const std::string& source) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct PerSource {
    prometheus::Counter* steps = nullptr;
    prometheus::Counter* episodes = nullptr;
    prometheus::Gauge* mean_return = nullptr;
    std::deque<float> recent;  // last returns, at most 1000
    double recent_sum = 0;
  };
  PerSource& For(const std::string& source) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& steps_family_;
  prometheus::Family<prometheus::Counter>& episodes_family_;
  prometheus::Family<prometheus::Gauge>& return_family_;
  prometheus::Counter& tasks_counter_;
  std::atomic<uint64_t> env_steps_{0};
  std::atomic<uint64_t> episodes_{0};
  std::atomic<uint64_t> tasks_{0};
  mutable absl::Mutex mu_;
  std::map<std::string, PerSource> sources_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ad::actors

#endif  // AD_ACTORS_ACTOR_METRICS_H_
