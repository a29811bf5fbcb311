// Does a preset learn in-context RL on Dark Room within its budget? Trains
// the AD model on synthetic tabular-Q learning histories of train goals
// (learner/synthetic_darkroom.h), then rolls it out on HELD-OUT goals with
// an empty context that fills with its own transitions, weights frozen, and
// prints the mean return per episode as a fraction of optimal.
//
//   ad_bench_icrl_probe --preset=cpu-demo --threads=2 [--steps=N]
//                       [--set='key=value;...'] [--episodes=40]
//
// The quality bar of the end-to-end demo: episodes 1-3 <= 30% of optimal
// (it has to explore) and episodes 31-40 >= 60% (it has learned in
// context). This probe is how the cpu-demo preset was sized; the real demo
// uses the actors' source data and the evaluator.
#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "bench/learner/bench_config.h"
#include "glog/logging.h"
#include "learner/config.h"
#include "learner/device.h"
#include "learner/in_process_source.h"
#include "learner/prefetcher.h"
#include "learner/synthetic_darkroom.h"
#include "learner/trainer.h"
#include "learner/transition_range.h"

ABSL_FLAG(std::string, preset, "cpu-demo", "Preset name or .cfg path");
ABSL_FLAG(std::string, set, "", "Overrides 'key=value;key=value'");
ABSL_FLAG(int64_t, steps, 0, "Training steps (0: train.steps)");
ABSL_FLAG(int, threads, 2, "LibTorch threads");
ABSL_FLAG(int, histories_per_goal, 4, "Source histories per train goal");
ABSL_FLAG(int, source_episodes, 100, "Episodes per source history");
ABSL_FLAG(int, episodes, 40, "Evaluation episodes");
ABSL_FLAG(int, episode_stride, 1,
          "Keep every k-th source episode, as the store's episode_stride");
ABSL_FLAG(double, q_alpha, 1.0, "Source Q-learning step size");
ABSL_FLAG(double, q_gamma, 0.9, "Source discount");
ABSL_FLAG(double, q_epsilon, 0.0, "Source epsilon-greedy exploration");
ABSL_FLAG(double, q_initial, 1.0, "Source optimistic initial Q");
ABSL_FLAG(int, seeds, 4, "Evaluation seeds per held-out goal");
ABSL_FLAG(bool, greedy, false, "Argmax actions instead of sampling");

namespace al = ad::learner;

namespace {

// Mean return per episode over all rollouts, as a fraction of each goal's
// optimal return.
std::vector<double> Evaluate(al::ADModel model,
                             const std::vector<al::DarkRoomGoal>& goals,
                             int seeds, int episodes, bool greedy) {
  torch::NoGradGuard no_grad;
  model->eval();
  const int c = model->options().context_len;
  const int n = static_cast<int>(goals.size()) * seeds;
  struct Rollout {
    al::DarkRoomGoal goal;
    int x, y;
    double episode_return = 0;
    std::deque<std::array<int32_t, 5>> context;  // x, y, a, r, done
  };
  std::vector<Rollout> r(n);
  for (int i = 0; i < n; ++i) {
    r[i].goal = goals[i / seeds];
    r[i].x = r[i].y = al::kDarkRoomSize / 2;
  }
  std::vector<double> fraction(episodes, 0.0);
  for (int e = 0; e < episodes; ++e) {
    for (int t = 0; t < al::kDarkRoomEpisodeLen; ++t) {
      const int len = static_cast<int>(r[0].context.size()) + 1;
      torch::Tensor obs = torch::zeros({n, len, 2}, torch::kInt);
      torch::Tensor act = torch::zeros({n, len}, torch::kInt);
      torch::Tensor rew = torch::zeros({n, len});
      torch::Tensor done = torch::zeros({n, len});
      auto o = obs.accessor<int32_t, 3>();
      auto a = act.accessor<int32_t, 2>();
      auto rw = rew.accessor<float, 2>();
      auto d = done.accessor<float, 2>();
      for (int i = 0; i < n; ++i) {
        int k = 0;
        for (const auto& tr : r[i].context) {
          o[i][k][0] = tr[0];
          o[i][k][1] = tr[1];
          a[i][k] = tr[2];
          rw[i][k] = static_cast<float>(tr[3]);
          d[i][k] = static_cast<float>(tr[4]);
          ++k;
        }
        o[i][k][0] = r[i].x;
        o[i][k][1] = r[i].y;
      }
      torch::Tensor logits =
          model->NextActionLogits(al::TransitionsToInput(obs, act, rew, done));
      torch::Tensor actions =
          greedy ? logits.argmax(-1)
                 : torch::multinomial(torch::softmax(logits, -1), 1).squeeze(1);
      auto chosen = actions.accessor<int64_t, 1>();
      for (int i = 0; i < n; ++i) {
        const int action = static_cast<int>(chosen[i]);
        auto [nx, ny] = al::DarkRoomMove(r[i].x, r[i].y, action);
        const int reward = (nx == r[i].goal.x && ny == r[i].goal.y) ? 1 : 0;
        const int is_done = t + 1 == al::kDarkRoomEpisodeLen ? 1 : 0;
        r[i].context.push_back({r[i].x, r[i].y, action, reward, is_done});
        // Keep c - 1 transitions: with the current observation, c tokens.
        while (static_cast<int>(r[i].context.size()) > c - 1) {
          r[i].context.pop_front();
        }
        r[i].episode_return += reward;
        r[i].x = nx;
        r[i].y = ny;
      }
    }
    for (int i = 0; i < n; ++i) {
      fraction[e] +=
          r[i].episode_return / al::DarkRoomOptimalReturn(r[i].goal) / n;
      r[i].episode_return = 0;
      r[i].x = r[i].y = al::kDarkRoomSize / 2;
    }
  }
  return fraction;
}

// Keeps episodes 0, k, 2k, ... of each (Dark Room, fixed-length) history.
void KeepEveryKthEpisode(int k, std::vector<al::History>& histories) {
  if (k <= 1) return;
  const int len = al::kDarkRoomEpisodeLen;
  for (al::History& h : histories) {
    al::History kept = h;
    kept.obs.clear();
    kept.actions.clear();
    kept.rewards.clear();
    kept.dones.clear();
    for (int64_t e = 0; e * len < h.length(); e += k) {
      const int64_t b = e * len;
      al::AppendTransitions(h, b, len, /*obs_dim=*/2, kept);
    }
    h = std::move(kept);
  }
}

double Mean(const std::vector<double>& v, int begin, int end) {
  double s = 0;
  for (int i = begin; i < end; ++i) s += v[i];
  return s / (end - begin);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  const al::LearnerConfig config = ad::bench::LoadBenchConfig(
      absl::GetFlag(FLAGS_preset), absl::GetFlag(FLAGS_set),
      absl::GetFlag(FLAGS_threads));
  int64_t steps = absl::GetFlag(FLAGS_steps);
  if (steps <= 0) steps = config.train.steps;

  std::vector<al::DarkRoomGoal> train, test;
  al::DarkRoomGoalSplit(/*test_every=*/4, /*test_offset=*/0, train, test);
  al::SyntheticDarkRoomOptions source;
  source.goals = train;
  source.histories_per_goal = absl::GetFlag(FLAGS_histories_per_goal);
  source.episodes = absl::GetFlag(FLAGS_source_episodes);
  source.alpha = absl::GetFlag(FLAGS_q_alpha);
  source.gamma = absl::GetFlag(FLAGS_q_gamma);
  source.epsilon = absl::GetFlag(FLAGS_q_epsilon);
  source.initial_q = absl::GetFlag(FLAGS_q_initial);
  std::vector<al::History> histories = al::SyntheticDarkRoomHistories(source);
  {
    // The source algorithm's own curve, for reference.
    std::vector<double> curve(source.episodes, 0.0);
    for (size_t h = 0; h < histories.size(); ++h) {
      const al::DarkRoomGoal& g = train[h / source.histories_per_goal];
      for (int e = 0; e < source.episodes; ++e) {
        double ret = 0;
        for (int t = 0; t < al::kDarkRoomEpisodeLen; ++t) {
          ret += histories[h].rewards[e * al::kDarkRoomEpisodeLen + t];
        }
        curve[e] += ret / al::DarkRoomOptimalReturn(g) / histories.size();
      }
    }
    std::printf(
        "source tabular-Q (train goals): episodes 1-3 %.2f, "
        "%d-%d %.2f of optimal\n",
        Mean(curve, 0, 3), source.episodes - 9, source.episodes,
        Mean(curve, source.episodes - 10, source.episodes));
  }

  KeepEveryKthEpisode(absl::GetFlag(FLAGS_episode_stride), histories);
  std::fflush(stdout);

  auto trainer = al::Trainer::Create(config, torch::kCPU);
  CHECK(trainer.ok()) << trainer.status();
  al::WindowRequest request;
  request.window_len = config.model.context_len;
  request.batch_size = config.train.batch_size;
  request.seed = config.train.seed;
  auto src = al::InProcessWindowSource::Create(histories, request);
  CHECK(src.ok()) << src.status();
  al::Prefetcher::Options prefetch;
  prefetch.model = config.model;
  prefetch.capacity = config.data.prefetch_batches;
  al::Prefetcher prefetcher(*std::move(src), prefetch);
  al::LoopOptions loop;
  loop.until_step = steps;
  loop.warmup_steps = 5;
  const absl::Time start = absl::Now();
  auto summary = al::RunTraining(**trainer, prefetcher, nullptr, loop);
  CHECK(summary.ok()) << summary.status();
  const double train_seconds = absl::ToDoubleSeconds(absl::Now() - start);

  const absl::Time eval_start = absl::Now();
  std::vector<double> curve =
      Evaluate((*trainer)->model(), test, absl::GetFlag(FLAGS_seeds),
               absl::GetFlag(FLAGS_episodes), absl::GetFlag(FLAGS_greedy));
  const int episodes = absl::GetFlag(FLAGS_episodes);
  std::printf(
      "preset %s: %lld params, %lld steps in %.0f s (%.0f tokens/s), "
      "final loss %.3f acc %.3f\n",
      config.preset.c_str(),
      static_cast<long long>((*trainer)->model()->NumParameters()),
      static_cast<long long>(steps), train_seconds, summary->tokens_per_second,
      summary->last.loss, summary->last.accuracy);
  std::printf("held-out goals, AD in-context (%.0f s): ",
              absl::ToDoubleSeconds(absl::Now() - eval_start));
  for (int e = 0; e < episodes; ++e) std::printf("%.2f ", curve[e]);
  std::printf("\nepisodes 1-3: %.2f of optimal (bar <= 0.30); ",
              Mean(curve, 0, std::min(3, episodes)));
  if (episodes >= 40) {
    std::printf("episodes 31-40: %.2f of optimal (bar >= 0.60)\n",
                Mean(curve, 30, 40));
  } else {
    std::printf("last 10: %.2f\n",
                Mean(curve, std::max(0, episodes - 10), episodes));
  }
  return 0;
}
