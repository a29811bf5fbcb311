// Batched stepping throughput of every environment family, next to the same
// instances stepped one at a time (N separate one-instance envs, one Step
// call each), measured in the same run. Prints a table of env-steps/s and the
// ratio batched / one-at-a-time, then Watermaze's direct uint8 render rate
// (WatermazeEnv::RenderFrames, the path of the later byte wire).
//
// Actions come from a buffer drawn before timing starts; every instance gets
// its own task (the family's tasks in turn). Families with pixel
// observations (obs_dim above kMaxSmallObsDim) run kPixelNumEnvs instances,
// the others kNumEnvs. Each measurement runs for about kSecondsPerRun, so
// the whole bench takes about 11 * kSecondsPerRun plus set-up.
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
#include "envs/watermaze.h"
#include "glog/logging.h"

namespace ad::envs {
namespace {

constexpr int kNumEnvs = 1024;
constexpr int kPixelNumEnvs = 16;      // instances of a pixel family
constexpr int kMaxSmallObsDim = 1024;  // int32s per observation
constexpr int kBufferedSteps = 256;    // rows of pre-drawn actions, reused
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

int NumEnvsFor(const SpaceSpec& space) {
  return space.obs_dim > kMaxSmallObsDim ? kPixelNumEnvs : kNumEnvs;
}

// kBufferedSteps x num_envs uniform actions.
std::vector<int32_t> DrawActions(int num_actions, int num_envs) {
  SplitMix64 rng(12345);
  std::vector<int32_t> actions(static_cast<size_t>(kBufferedSteps) * num_envs);
  for (int32_t& a : actions) a = rng.NextBelow(num_actions);
  return actions;
}

std::vector<std::string> SomeTasks(const EnvFamily& family, int num_envs) {
  const std::vector<std::string> all = family.AllTasks();
  std::vector<std::string> tasks(num_envs);
  for (int i = 0; i < num_envs; ++i) tasks[i] = all[i % all.size()];
  return tasks;
}

// Env-steps per second of one BatchedEnv holding num_envs instances.
double MeasureBatched(const EnvFamily& family, int num_envs,
                      const std::vector<int32_t>& actions) {
  std::unique_ptr<BatchedEnv> env =
      ValueOrDie(family.Make(SomeTasks(family, num_envs), num_envs,
                             /*seed=*/1));
  StepBuffers out(*env);
  const StepOutput output = out.output();
  int64_t steps = 0;
  const Clock::time_point start = Clock::now();
  while (Seconds(start) < kSecondsPerRun) {
    for (int k = 0; k < kStepsPerCheck; ++k, ++steps) {
      const auto row = absl::MakeConstSpan(actions).subspan(
          (steps % kBufferedSteps) * num_envs, num_envs);
      CHECK(env->Step(row, output).ok());
    }
  }
  return static_cast<double>(steps) * num_envs / Seconds(start);
}

// Env-steps per second of num_envs one-instance envs, each with its own Step.
double MeasureOneAtATime(const EnvFamily& family, int num_envs,
                         const std::vector<int32_t>& actions) {
  const std::vector<std::string> tasks = SomeTasks(family, num_envs);
  std::vector<std::unique_ptr<BatchedEnv>> envs;
  std::vector<StepBuffers> outs;
  std::vector<StepOutput> outputs;
  envs.reserve(num_envs);
  outs.reserve(num_envs);
  for (int i = 0; i < num_envs; ++i) {
    envs.push_back(ValueOrDie(family.Make({tasks[i]}, 1, /*seed=*/1 + i)));
    outs.emplace_back(*envs.back());
  }
  for (StepBuffers& out : outs) outputs.push_back(out.output());
  int64_t steps = 0;
  const Clock::time_point start = Clock::now();
  while (Seconds(start) < kSecondsPerRun) {
    for (int k = 0; k < kStepsPerCheck; ++k, ++steps) {
      const int32_t* row = actions.data() + (steps % kBufferedSteps) * num_envs;
      for (int i = 0; i < num_envs; ++i) {
        CHECK(envs[i]->Step(absl::MakeConstSpan(row + i, 1), outputs[i]).ok());
      }
    }
  }
  return static_cast<double>(steps) * num_envs / Seconds(start);
}

// Frames per second of WatermazeEnv::RenderFrames into a uint8 buffer (no
// stepping), kPixelNumEnvs instances per call.
double MeasureWatermazeRender() {
  const WatermazeFamily family;
  std::unique_ptr<WatermazeEnv> env = ValueOrDie(family.MakeWatermaze(
      SomeTasks(family, kPixelNumEnvs), kPixelNumEnvs, /*seed=*/1));
  std::vector<uint8_t> frames(static_cast<size_t>(kPixelNumEnvs) *
                              kWatermazeFrameBytes);
  int64_t calls = 0;
  const Clock::time_point start = Clock::now();
  while (Seconds(start) < kSecondsPerRun) {
    for (int k = 0; k < kStepsPerCheck; ++k, ++calls) {
      CHECK(env->RenderFrames(absl::MakeSpan(frames)).ok());
    }
  }
  return static_cast<double>(calls) * kPixelNumEnvs / Seconds(start);
}

int Run() {
  absl::PrintF(
      "envs bench: %d instances (%d for pixel families), ~%.1f s per "
      "measurement\n",
      kNumEnvs, kPixelNumEnvs, kSecondsPerRun);
  absl::PrintF("%-14s %9s %18s %22s %8s\n", "family", "instances",
               "batched steps/s", "one-at-a-time steps/s", "ratio");
  for (const std::string& name : FamilyNames()) {
    const EnvFamily* family = ValueOrDie(FindFamily(name));
    const int num_envs = NumEnvsFor(family->space());
    const std::vector<int32_t> actions =
        DrawActions(family->space().num_actions, num_envs);
    const double batched = MeasureBatched(*family, num_envs, actions);
    const double single = MeasureOneAtATime(*family, num_envs, actions);
    absl::PrintF("%-14s %9d %18.3e %22.3e %7.1fx\n", name, num_envs, batched,
                 single, batched / single);
  }
  absl::PrintF("watermaze RenderFrames (uint8, no step): %.3e frames/s\n",
               MeasureWatermazeRender());
  return 0;
}

}  // namespace
}  // namespace ad::envs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  return ad::envs::Run();
}
