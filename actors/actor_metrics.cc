#include "actors/actor_metrics.h"

namespace ad::actors {
namespace {
constexpr size_t kRecentEpisodes = 1000;
}  // namespace

ActorMetrics::ActorMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      steps_family_(prometheus::BuildCounter()
                        .Name("ad_actor_env_steps_total")
                        .Help("Environment steps recorded, per source")
                        .Register(*registry_)),
      episodes_family_(prometheus::BuildCounter()
                           .Name("ad_actor_episodes_total")
                           .Help("Episodes completed, per source")
                           .Register(*registry_)),
      return_family_(prometheus::BuildGauge()
                         .Name("ad_actor_episode_return_mean")
                         .Help("Mean return of the last 1000 episodes")
                         .Register(*registry_)),
      tasks_counter_(prometheus::BuildCounter()
                         .Name("ad_actor_tasks_completed_total")
                         .Help("Tasks whose streams all finished")
                         .Register(*registry_)
                         .Add({})) {}

ActorMetrics::PerSource& ActorMetrics::For(const std::string& source) {
  PerSource& s = sources_[source];
  if (s.steps == nullptr) {
    s.steps = &steps_family_.Add({{"source", source}});
    s.episodes = &episodes_family_.Add({{"source", source}});
    s.mean_return = &return_family_.Add({{"source", source}});
  }
  return s;
}

void ActorMetrics::OnSteps(const std::string& source, uint64_t steps) {
  env_steps_.fetch_add(steps, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  For(source).steps->Increment(static_cast<double>(steps));
}

void ActorMetrics::OnEpisodes(const std::string& source,
                              absl::Span<const float> returns) {
  episodes_.fetch_add(returns.size(), std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  PerSource& s = For(source);
  s.episodes->Increment(static_cast<double>(returns.size()));
  for (float r : returns) {
    s.recent.push_back(r);
    s.recent_sum += r;
    if (s.recent.size() > kRecentEpisodes) {
      s.recent_sum -= s.recent.front();
      s.recent.pop_front();
    }
  }
  s.mean_return->Set(s.recent_sum / static_cast<double>(s.recent.size()));
}

void ActorMetrics::OnTaskCompleted() {
  tasks_.fetch_add(1);
  tasks_counter_.Increment();
}

double ActorMetrics::RecentMeanReturn(const std::string& source) const {
  absl::MutexLock lock(&mu_);
  auto it = sources_.find(source);
  if (it == sources_.end() || it->second.recent.empty()) return 0;
  return it->second.recent_sum / static_cast<double>(it->second.recent.size());
}

}  // namespace ad::actors
