// Batched stepping throughput of every environment family, next to the same
// instances stepped one at a time (N separate one-instance envs, one Step
// call each), measured in the same run. Prints a table of env-steps/s and the
// ratio batched / one-at-a-time.
//
// Actions come from a buffer drawn before timing starts; every instance gets
// its own task (the family's tasks in turn). Each measurement runs for about
// kSecondsPerRun, so the whole bench takes about 8 * kSecondsPerRun plus
// set-up.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/rng.h"
#include "envs/env.h"
#include "envs/registry.h"
#include "envs/step_buffers.h"
#include "glog/logging.h"

namespace ad::envs {
namespace {

constexpr int kNumEnvs = 1024;
constexpr int kBufferedSteps = 256;  // rows of pre-drawn actions, reused
constexpr double kSecondsPerRun = 1.0;
constexpr int kStepsPerCheck = 16;  // batched steps between clock reads

using Clock = std::chrono::steady_clock;

template <typename T>
T ValueOrDie(absl::StatusOr<T> value) {
  CHECK(value.ok()) << value.status();
  return *std::move(value);
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// kBufferedSteps x kNumEnvs uniform actions.
std::vector<int32_t> DrawActions(int num_actions) {
  SplitMix64 rng(12345);
  std::vector<int32_t> actions(static_cast<size_t>(kBufferedSteps) * kNumEnvs);
  for (int32_t& a : actions) a = rng.NextBelow(num_actions);
  return actions;
}

std::vector<std::string> SomeTasks(const EnvFamily& family) {
  const std::vector<std::string> all = family.AllTasks();
  std::vector<std::string> tasks(kNumEnvs);
  for (int i = 0; i < kNumEnvs; ++i) tasks[i] = all[i % all.size()];
  return tasks;
}

// Env-steps per second of one BatchedEnv holding kNumEnvs instances.
double MeasureBatched(const EnvFamily& family,
                      const std::vector<int32_t>& actions) {
  std::unique_ptr<BatchedEnv> env =
      ValueOrDie(family.Make(SomeTasks(family), kNumEnvs, /*seed=*/1));
  StepBuffers out(*env);
  const StepOutput output = out.output();
  int64_t steps = 0;
  const Clock::time_point start = Clock::now();
  while (Seconds(start) < kSecondsPerRun) {
    for (int k = 0; k < kStepsPerCheck; ++k, ++steps) {
      const auto row = absl::MakeConstSpan(actions).subspan(
          (steps % kBufferedSteps) * kNumEnvs, kNumEnvs);
      CHECK(env->Step(row, output).ok());
    }
  }
  return static_cast<double>(steps) * kNumEnvs / Seconds(start);
}

// Env-steps per second of kNumEnvs one-instance envs, each with its own Step.
double MeasureOneAtATime(const EnvFamily& family,
                         const std::vector<int32_t>& actions) {
  const std::vector<std::string> tasks = SomeTasks(family);
  std::vector<std::unique_ptr<BatchedEnv>> envs;
  std::vector<StepBuffers> outs;
  std::vector<StepOutput> outputs;
  envs.reserve(kNumEnvs);
  outs.reserve(kNumEnvs);
  for (int i = 0; i < kNumEnvs; ++i) {
    envs.push_back(ValueOrDie(family.Make({tasks[i]}, 1, /*seed=*/1 + i)));
    outs.emplace_back(*envs.back());
  }
  for (StepBuffers& out : outs) outputs.push_back(out.output());
  int64_t steps = 0;
  const Clock::time_point start = Clock::now();
  while (Seconds(start) < kSecondsPerRun) {
    for (int k = 0; k < kStepsPerCheck; ++k, ++steps) {
      const int32_t* row = actions.data() + (steps % kBufferedSteps) * kNumEnvs;
      for (int i = 0; i < kNumEnvs; ++i) {
        CHECK(envs[i]->Step(absl::MakeConstSpan(row + i, 1), outputs[i]).ok());
      }
    }
  }
  return static_cast<double>(steps) * kNumEnvs / Seconds(start);
}

int Run() {
  absl::PrintF("envs bench: %d instances, ~%.1f s per measurement\n", kNumEnvs,
               kSecondsPerRun);
  absl::PrintF("%-14s %18s %22s %8s\n", "family", "batched steps/s",
               "one-at-a-time steps/s", "ratio");
  for (const std::string& name : FamilyNames()) {
    const EnvFamily* family = ValueOrDie(FindFamily(name));
    const std::vector<int32_t> actions =
        DrawActions(family->space().num_actions);
    const double batched = MeasureBatched(*family, actions);
    const double single = MeasureOneAtATime(*family, actions);
    absl::PrintF("%-14s %18.3e %22.3e %7.1fx\n", name, batched, single,
                 batched / single);
  }
  return 0;
}

}  // namespace
}  // namespace ad::envs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  return ad::envs::Run();
}
