#include "evaluator/demo_checkpoints.h"

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/rng.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "glog/logging.h"
#include "learner/checkpoint.h"
#include "learner/config.h"
#include "learner/prefetcher.h"
#include "learner/trainer.h"

namespace ad::evaluator {

absl::Status DemoDataOptions::Validate() const {
  if (source != "q_learning" && source != "noisy_expert" &&
      source != "expert") {
    return absl::InvalidArgumentError(absl::StrFormat(
        "source is '%s', want q_learning, noisy_expert or expert", source));
  }
  if (streams_per_task < 1 || episodes < 1) {
    return absl::InvalidArgumentError(
        "streams_per_task and episodes must be >= 1");
  }
  if (!(train_fraction > 0 && train_fraction < 1)) {
    return absl::InvalidArgumentError("train_fraction must lie in (0, 1)");
  }
  if (!(epsilon >= 0 && epsilon <= 1) || !(alpha > 0 && alpha <= 1)) {
    return absl::InvalidArgumentError(
        "epsilon must lie in [0, 1] and alpha in (0, 1]");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<learner::History>> MakeDemoHistories(
    const DemoDataOptions& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  AD_ASSIGN_OR_RETURN(const envs::EnvFamily* family,
                      envs::FindFamily(options.env));
  const envs::SpaceSpec& space = family->space();
  if (space.obs_dim != 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "env %s: demo data needs a grid family ((x, y) observations)",
        options.env));
  }
  const std::vector<std::string> tasks =
      options.tasks.empty()
          ? family->Split(options.train_fraction, options.split_seed).train
          : options.tasks;
  std::vector<std::string> row_tasks;
  for (const std::string& task : tasks) {
    for (int s = 0; s < options.streams_per_task; ++s) {
      row_tasks.push_back(task);
    }
  }
  const int rows = static_cast<int>(row_tasks.size());
  AD_ASSIGN_OR_RETURN(std::unique_ptr<envs::BatchedEnv> env,
                      family->Make(row_tasks, rows, options.seed));
  const int width = space.obs_high[0];
  const int states = space.obs_high[0] * space.obs_high[1];
  const int actions = space.num_actions;
  std::vector<float> q(static_cast<size_t>(rows) * states * actions,
                       static_cast<float>(options.initial_q));
  std::vector<SplitMix64> rngs;
  for (int r = 0; r < rows; ++r) {
    rngs.emplace_back(InstanceSeed(options.seed ^ 0x51u, r));
  }
  std::vector<learner::History> histories(rows);
  for (int r = 0; r < rows; ++r) {
    learner::History& h = histories[r];
    h.history_id = absl::StrFormat("%s:%s:stream=%d", options.source,
                                   row_tasks[r], r % options.streams_per_task);
    h.task_id = row_tasks[r];
    h.split = "train";
    h.obs_dim = 2;
  }
  std::vector<int32_t> obs(static_cast<size_t>(rows) * 2), next(obs.size());
  std::vector<int32_t> act(rows), expert(rows);
  std::vector<float> rewards(rows);
  std::vector<uint8_t> dones(rows);
  std::vector<int> episode(rows, 0);  // episodes finished per row
  AD_RETURN_IF_ERROR(env->Reset(absl::MakeSpan(obs)));
  const int64_t steps =
      static_cast<int64_t>(options.episodes) * space.episode_len;
  for (int64_t t = 0; t < steps; ++t) {
    AD_RETURN_IF_ERROR(env->ExpertActions(absl::MakeSpan(expert)));
    for (int r = 0; r < rows; ++r) {
      if (options.source == "expert") {
        act[r] = expert[r];
        continue;
      }
      if (options.source == "noisy_expert") {
        // Epsilon falls linearly from 1 in the first episode to 0 in the
        // last: a learning curve from random to optimal.
        const double eps = options.episodes == 1
                               ? 0.0
                               : 1.0 - static_cast<double>(episode[r]) /
                                           (options.episodes - 1);
        const bool explore = rngs[r].NextUnit() < eps;
        const int32_t random = static_cast<int32_t>(rngs[r].NextBelow(actions));
        act[r] = explore ? random : expert[r];
        continue;
      }
      const float* qs = &q[(static_cast<size_t>(r) * states +
                            obs[2 * r + 1] * width + obs[2 * r]) *
                           actions];
      if (rngs[r].NextUnit() < options.epsilon) {
        act[r] = static_cast<int32_t>(rngs[r].NextBelow(actions));
      } else {
        // Argmax with random tie-breaking, so optimism explores evenly.
        const float best = *std::max_element(qs, qs + actions);
        int ties = 0;
        for (int a = 0; a < actions; ++a) ties += qs[a] == best;
        int pick = static_cast<int>(rngs[r].NextBelow(ties));
        for (int a = 0; a < actions; ++a) {
          if (qs[a] == best && pick-- == 0) {
            act[r] = a;
            break;
          }
        }
      }
    }
    AD_RETURN_IF_ERROR(env->Step(
        act, envs::StepOutput{absl::MakeSpan(next), absl::MakeSpan(rewards),
                              absl::MakeSpan(dones)}));
    for (int r = 0; r < rows; ++r) {
      learner::History& h = histories[r];
      h.obs.push_back(obs[2 * r]);
      h.obs.push_back(obs[2 * r + 1]);
      h.actions.push_back(act[r]);
      h.rewards.push_back(rewards[r]);
      h.dones.push_back(dones[r]);
      episode[r] += dones[r];
      if (options.source == "q_learning") {
        // The next state of this step is `next` unless the episode ended
        // (then `next` is the reset state): treat the end as terminal.
        const size_t base = static_cast<size_t>(r) * states;
        float& q_sa =
            q[(base + obs[2 * r + 1] * width + obs[2 * r]) * actions + act[r]];
        float target = rewards[r];
        if (dones[r] == 0) {
          const float* qn =
              &q[(base + next[2 * r + 1] * width + next[2 * r]) * actions];
          target += static_cast<float>(options.gamma) *
                    *std::max_element(qn, qn + actions);
        }
        q_sa += static_cast<float>(options.alpha) * (target - q_sa);
      }
    }
    obs.swap(next);
  }
  return histories;
}

absl::Status DemoTrainOptions::Validate() const {
  AD_RETURN_IF_ERROR(data.Validate());
  if (out_dir.empty()) return absl::InvalidArgumentError("out is empty");
  if (threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  return absl::OkStatus();
}

absl::StatusOr<std::string> TrainDemoCheckpoint(
    const DemoTrainOptions& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  torch::set_num_threads(options.threads);
  AD_ASSIGN_OR_RETURN(learner::LearnerConfig config,
                      learner::LoadConfig(options.preset));
  AD_RETURN_IF_ERROR(learner::ApplyOverrides(options.overrides, config));
  AD_ASSIGN_OR_RETURN(std::vector<learner::History> histories,
                      MakeDemoHistories(options.data));
  // The source's learning curve, in tenths of its episodes.
  std::vector<double> tenth(10, 0.0);
  std::vector<int64_t> in_tenth(10, 0);
  int64_t transitions = 0;
  for (const learner::History& h : histories) {
    transitions += h.length();
    double running = 0;
    int episode = 0;
    for (int64_t i = 0; i < h.length(); ++i) {
      running += h.rewards[i];
      if (h.dones[i]) {
        const int bin = std::min(9, episode * 10 / options.data.episodes);
        tenth[bin] += running;
        ++in_tenth[bin];
        ++episode;
        running = 0;
      }
    }
  }
  std::string curve;
  for (int b = 0; b < 10; ++b) {
    absl::StrAppendFormat(&curve, " %.1f",
                          tenth[b] / std::max<int64_t>(1, in_tenth[b]));
  }
  LOG(INFO) << absl::StrFormat(
      "demo data: %d %s histories, %d transitions; mean return per tenth of "
      "the history:%s",
      histories.size(), options.data.source, transitions, curve);
  learner::WindowRequest request;
  request.window_len = config.model.context_len;
  request.batch_size = config.train.batch_size;
  request.seed = config.train.seed;
  AD_ASSIGN_OR_RETURN(std::unique_ptr<learner::InProcessWindowSource> source,
                      learner::InProcessWindowSource::Create(
                          std::move(histories), request, "train"));
  learner::Prefetcher::Options prefetch;
  prefetch.model = config.model;
  AD_RETURN_IF_ERROR(prefetch.Validate());
  learner::Prefetcher prefetcher(std::move(source), prefetch);
  AD_ASSIGN_OR_RETURN(std::unique_ptr<learner::Trainer> trainer,
                      learner::Trainer::Create(config, torch::kCPU));
  learner::CheckpointDir::Options dir_options;
  dir_options.directory = options.out_dir;
  dir_options.keep = config.train.keep_checkpoints;
  AD_ASSIGN_OR_RETURN(learner::CheckpointDir dir,
                      learner::CheckpointDir::Open(dir_options));
  learner::LoopOptions loop;
  loop.until_step = config.train.steps;
  AD_ASSIGN_OR_RETURN(learner::LoopSummary summary,
                      learner::RunTraining(*trainer, prefetcher, &dir, loop));
  LOG(INFO) << absl::StrFormat(
      "trained %d steps in %.0f s: loss %.3f, accuracy %.3f -> %s",
      summary.steps_run, summary.seconds, summary.last.loss,
      summary.last.accuracy, summary.last_checkpoint);
  return summary.last_checkpoint;
}

}  // namespace ad::evaluator
