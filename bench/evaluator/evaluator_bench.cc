// Benchmark: batched in-context rollouts (all tasks x seeds in one forward
// per environment step) against stepping the same rows with one forward per
// row, in environment steps per second, measured in the same run.
//
// The model is the cpu-demo preset (randomly initialised unless --checkpoint
// names a trained one: the cost of a forward does not depend on the weights).
// Both runs start with every row's context already full (a prompt of
// window - 1 transitions), so every forward sees the model's whole window,
// as it does for all but the first few steps of a real evaluation. The
// per-row runs step the first --per_row_rows rows (their cost is linear in
// rows); every run takes a fixed number of steps. Both
// window modes of ModelPolicy are measured: "slide" (full recompute of the
// window every step) and "chunk" (cached keys/values, ~2 tokens of compute
// per row and step). Prints every rate and the ratios.
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
#include "common/memory.h"
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
ABSL_FLAG(int, batched_steps, 10, "steps of the batched full-window run");
ABSL_FLAG(int, chunk_steps, 100,
          "steps of the batched cached run (covers two window restarts)");
ABSL_FLAG(int, per_row_rows, 40,
          "rows of the per-row runs (their cost is linear in rows)");
ABSL_FLAG(int, per_row_steps, 10, "steps of the per-row full-window run");
ABSL_FLAG(int, per_row_chunk_steps, 40, "steps of the per-row cached run");
ABSL_FLAG(int, threads, 1,
          "LibTorch intra-op threads (1: on a shared 2-core machine more "
          "threads spin against each other)");

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
  learner::ADModel model = (*policy)->model();
  options.window = "chunk";
  absl::StatusOr<std::unique_ptr<ModelPolicy>> cached =
      ModelPolicy::FromModel(model, options);
  CHECK(cached.ok()) << cached.status();

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
      "window %d; rows %zu (%d tasks x %d seeds); %d LibTorch thread(s)\n",
      what.c_str(), m.embed_dim, m.num_layers, m.num_heads, m.ff_dim,
      m.context_len, rows.size(), tasks, absl::GetFlag(FLAGS_seeds),
      options.threads);
  auto report = [](const char* name, const Rate& rate) {
    std::printf("  %-52s %9.0f env-steps/s (%lld steps in %.2f s)\n", name,
                rate.per_second(), static_cast<long long>(rate.env_steps),
                rate.seconds);
  };
  // The per-row runs use the first rows only (and their prompts).
  const size_t few =
      std::min<size_t>(absl::GetFlag(FLAGS_per_row_rows), rows.size());
  const std::vector<RowSpec> few_rows(rows.begin(), rows.begin() + few);
  Prompt few_prompt = prompt;
  few_prompt.obs.resize(few * context_len * 2);
  few_prompt.actions.resize(few * context_len);
  few_prompt.rewards.resize(few * context_len);
  few_prompt.dones.resize(few * context_len);
  absl::StatusOr<Rate> per_row =
      Measure(family, few_rows, **policy, few_prompt, context_len, 1,
              absl::GetFlag(FLAGS_per_row_steps), 1e9);
  CHECK(per_row.ok()) << per_row.status();
  report(absl::StrFormat("per-row, full window (%zu rows, 1 forward each)", few)
             .c_str(),
         *per_row);
  absl::StatusOr<Rate> batched =
      Measure(family, rows, **policy, prompt, context_len, 0,
              absl::GetFlag(FLAGS_batched_steps), 1e9);
  CHECK(batched.ok()) << batched.status();
  report("batched, full window (one forward per step)", *batched);
  absl::StatusOr<Rate> per_row_cached =
      Measure(family, few_rows, **cached, few_prompt, context_len, 1,
              absl::GetFlag(FLAGS_per_row_chunk_steps), 1e9);
  CHECK(per_row_cached.ok()) << per_row_cached.status();
  report(absl::StrFormat("per-row, cached window (%zu rows)", few).c_str(),
         *per_row_cached);
  absl::StatusOr<Rate> batched_cached =
      Measure(family, rows, **cached, prompt, context_len, 0,
              absl::GetFlag(FLAGS_chunk_steps), 1e9);
  CHECK(batched_cached.ok()) << batched_cached.status();
  report("batched, cached window (the evaluator's fast path)", *batched_cached);
  std::printf(
      "  ratio batched / per-row, same full window:   %6.1fx\n"
      "  ratio batched / per-row, same cached window: %6.1fx\n"
      "  ratio batched cached / per-row full window:  %6.1fx (goal >= 20x)\n",
      batched->per_second() / per_row->per_second(),
      batched_cached->per_second() / per_row_cached->per_second(),
      batched_cached->per_second() / per_row->per_second());
  std::printf("  peak resident memory of this process: %.0f MiB\n",
              PeakResidentMb());
  return 0;
}

}  // namespace
}  // namespace ad::evaluator

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  return ad::evaluator::Main();
}
