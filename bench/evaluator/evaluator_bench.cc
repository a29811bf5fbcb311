// Benchmark: batched in-context rollouts (all tasks x seeds in one forward
// per environment step) against stepping the same rows with one forward per
// row, in environment steps per second, measured in the same run.
//
// The model is the cpu-demo preset (randomly initialised unless --checkpoint
// names a trained one: the cost of a forward does not depend on the weights).
// Both runs start with every row's context already full (a prompt of
// window - 1 transitions), so every forward sees the model's whole window,
// as it does for all but the first few steps of a real evaluation. The
// per-row run is bounded by --per_row_seconds; the batched one runs
// --batched_steps steps. Prints both rates and their ratio.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "envs/registry.h"
#include "evaluator/policies/model_policy.h"
#include "evaluator/rollout.h"
#include "glog/logging.h"
#include "learner/config.h"
#include "learner/model.h"

ABSL_FLAG(std::string, checkpoint, "",
          "trained checkpoint; empty: a random cpu-demo model");
ABSL_FLAG(std::string, preset, "cpu-demo", "learner preset for the model");
ABSL_FLAG(int, tasks, 20, "held-out Dark Room tasks");
ABSL_FLAG(int, seeds, 20, "evaluation seeds per task");
ABSL_FLAG(int, batched_steps, 40, "steps of the batched run");
ABSL_FLAG(double, per_row_seconds, 10, "time budget of the per-row run");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads");

namespace ad::evaluator {
namespace {

struct Rate {
  int64_t env_steps = 0;
  double seconds = 0;
  double per_second() const { return env_steps / std::max(seconds, 1e-9); }
};

absl::StatusOr<Rate> Measure(const envs::EnvFamily& family,
                             const std::vector<RowSpec>& rows,
                             InContextPolicy& policy, const Prompt& prompt,
                             int context_len, int rows_per_call, int steps,
                             double budget_seconds) {
  RolloutOptions options;
  options.context_len = context_len;
  options.rows_per_call = rows_per_call;
  options.episodes =
      (steps + family.space().episode_len - 1) / family.space().episode_len;
  Rate rate;
  const absl::Time start = absl::Now();
  RolloutHooks hooks;
  hooks.on_transition =
      [&](absl::Span<const int32_t>, absl::Span<const int32_t> actions,
          absl::Span<const float>, absl::Span<const uint8_t>) {
        rate.env_steps += static_cast<int64_t>(actions.size());
      };
  hooks.cancelled = [&] {
    return absl::ToDoubleSeconds(absl::Now() - start) > budget_seconds;
  };
  absl::StatusOr<RolloutResult> result =
      RunRollout(family, rows, policy, options, &prompt, hooks);
  rate.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!result.ok() && !absl::IsCancelled(result.status())) {
    return result.status();
  }
  return rate;
}

int Main() {
  const envs::EnvFamily& family = **envs::FindFamily("darkroom");
  ModelPolicy::Options options;
  options.threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<std::unique_ptr<ModelPolicy>> policy;
  std::string what;
  if (!absl::GetFlag(FLAGS_checkpoint).empty()) {
    policy = ModelPolicy::Load(absl::GetFlag(FLAGS_checkpoint), options);
    what = absl::GetFlag(FLAGS_checkpoint);
  } else {
    absl::StatusOr<learner::LearnerConfig> config =
        learner::BuiltinPreset(absl::GetFlag(FLAGS_preset));
    CHECK(config.ok()) << config.status();
    absl::StatusOr<learner::ADModel> model =
        learner::CreateModel(config->model, torch::kCPU);
    CHECK(model.ok()) << model.status();
    policy = ModelPolicy::FromModel(*model, options);
    what = absl::StrFormat(
        "randomly initialised %s model (no trained "
        "checkpoint given)",
        absl::GetFlag(FLAGS_preset));
  }
  CHECK(policy.ok()) << policy.status();
  const learner::ModelOptions& m = (*policy)->model_options();
  const int context_len = (*policy)->max_past();

  const envs::TaskSplit split = family.Split(0.75, 0);
  std::vector<RowSpec> rows;
  const int tasks =
      std::min<int>(absl::GetFlag(FLAGS_tasks), split.test.size());
  for (int t = 0; t < tasks; ++t) {
    for (int s = 0; s < absl::GetFlag(FLAGS_seeds); ++s) {
      rows.push_back(RowSpec{split.test[t], static_cast<uint64_t>(s)});
    }
  }
  // A full context from the start: window - 1 transitions of wandering.
  Prompt prompt;
  prompt.length = context_len;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int t = 0; t < context_len; ++t) {
      prompt.obs.insert(prompt.obs.end(), {(t + 4) % 9, (t / 9 + 4) % 9});
      prompt.actions.push_back(t % 5);
      prompt.rewards.push_back(0);
      prompt.dones.push_back(t % 20 == 19);
    }
  }
  std::printf(
      "evaluator bench: %s\n  model: emb %d, %d layers, %d heads, ff %d, "
      "window %d; rows %zu (%d tasks x %d seeds); %d threads\n",
      what.c_str(), m.embed_dim, m.num_layers, m.num_heads, m.ff_dim,
      m.context_len, rows.size(), tasks, absl::GetFlag(FLAGS_seeds),
      options.threads);

  absl::StatusOr<Rate> batched =
      Measure(family, rows, **policy, prompt, context_len, /*rows_per_call=*/0,
              absl::GetFlag(FLAGS_batched_steps), /*budget_seconds=*/1e9);
  CHECK(batched.ok()) << batched.status();
  std::printf(
      "  batched (1 forward of %zu rows per step): %8.0f env-steps/s "
      "(%lld steps in %.2f s)\n",
      rows.size(), batched->per_second(),
      static_cast<long long>(batched->env_steps), batched->seconds);
  absl::StatusOr<Rate> per_row =
      Measure(family, rows, **policy, prompt, context_len, /*rows_per_call=*/1,
              1 << 20, absl::GetFlag(FLAGS_per_row_seconds));
  CHECK(per_row.ok()) << per_row.status();
  std::printf(
      "  per-row (1 forward per row per step):      %8.0f env-steps/s "
      "(%lld steps in %.2f s)\n",
      per_row->per_second(), static_cast<long long>(per_row->env_steps),
      per_row->seconds);
  std::printf("  ratio batched / per-row: %.1fx (goal >= 20x)\n",
              batched->per_second() / per_row->per_second());
  return 0;
}

}  // namespace
}  // namespace ad::evaluator

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  return ad::evaluator::Main();
}
