// ad_bench_actors: A3C learning-history generation throughput.
//
// 1. env-steps/s per core of A3C with `--streams` streams of one task
//    batched (one forward per step for all streams, one update per rollout
//    over all of them) against one stream at a time (the same code with
//    num_streams = 1), both recording into a FileSink, in the same run, on
//    one LibTorch/OpenBLAS thread. Per core = steps / CPU seconds of the
//    process, so other load on the machine does not count against it.
// 2. The cpu-demo dataset: A3C with the cpu-demo preset on the first
//    `--demo_tasks` Dark Room train tasks (2 at a time), timed, and
//    extrapolated to all train tasks (pass --demo_tasks=0 for all of them).
//
// Bounded to ~30 s with the defaults.
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "actors/actor_metrics.h"
#include "actors/actor_process.h"
#include "actors/file_sink.h"
#include "actors/source_params.h"
#include "actors/task_runner.h"
#include "actors/torch_util.h"
#include "envs/registry.h"

ABSL_FLAG(int, streams, 64, "streams of the batched run");
ABSL_FLAG(int, batched_episodes, 40, "episodes per stream, batched run");
ABSL_FLAG(int, single_episodes, 200, "episodes of the single-stream run");
ABSL_FLAG(int, demo_tasks, 2, "cpu-demo train tasks to time; 0: all");

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Rate {
  uint64_t steps = 0;
  double wall = 0, cpu = 0;
};

Rate RunA3c(int streams, int episodes, const std::string& dir) {
  auto sink = ad::actors::FileSink::Create({dir});
  CHECK(sink.ok()) << sink.status();
  auto params = ad::actors::SourceParams::LoadPreset("cpu-demo");
  CHECK(params.ok());
  ad::actors::TaskRunOptions o;
  o.source = "a3c";
  o.task_id = "darkroom/goal=7,2";
  o.num_streams = streams;
  o.episodes_per_stream = episodes;
  o.seed = 1;
  const absl::Time t0 = absl::Now();
  const double c0 = CpuSeconds();
  auto result = ad::actors::RunTask(o, *params, ad::actors::LocalEnvFactory(),
                                    sink->get(), nullptr, nullptr);
  CHECK(result.ok()) << result.status();
  CHECK((*sink)->Flush(absl::Seconds(60)).ok());
  Rate r;
  r.steps = result->env_steps;
  r.wall = absl::ToDoubleSeconds(absl::Now() - t0);
  r.cpu = CpuSeconds() - c0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  ad::actors::SetComputeThreads(1);
  const std::string base =
      absl::StrCat(std::filesystem::temp_directory_path().string(),
                   "/ad_bench_actors_", getpid());
  const int streams = absl::GetFlag(FLAGS_streams);

  const Rate single =
      RunA3c(1, absl::GetFlag(FLAGS_single_episodes), base + "/single");
  const Rate batched =
      RunA3c(streams, absl::GetFlag(FLAGS_batched_episodes), base + "/batched");
  const double single_rate = single.steps / single.cpu;
  const double batched_rate = batched.steps / batched.cpu;
  absl::PrintF(
      "A3C env-steps/s per core (Dark Room, 3x128 MLP, rollout 20):\n");
  absl::PrintF(
      "  one stream at a time : %10.0f  (%d steps, %.2fs cpu, %.2fs wall)\n",
      single_rate, single.steps, single.cpu, single.wall);
  absl::PrintF(
      "  %3d streams batched  : %10.0f  (%d steps, %.2fs cpu, %.2fs wall)\n",
      streams, batched_rate, batched.steps, batched.cpu, batched.wall);
  absl::PrintF("  ratio batched/single : %10.1fx\n",
               batched_rate / single_rate);

  // cpu-demo dataset generation.
  ad::actors::ActorOptions demo;
  demo.family = "darkroom";
  demo.split = "train";
  demo.source = "a3c";
  demo.preset = "cpu-demo";
  demo.parallel_tasks = 2;
  demo.max_tasks = absl::GetFlag(FLAGS_demo_tasks);
  auto all_tasks = ad::actors::SelectTasks([&] {
    ad::actors::ActorOptions all = demo;
    all.max_tasks = 0;
    return all;
  }());
  CHECK(all_tasks.ok());
  auto sink = ad::actors::FileSink::Create({base + "/demo"});
  CHECK(sink.ok());
  auto registry = std::make_shared<prometheus::Registry>();
  ad::actors::ActorMetrics metrics(registry);
  const double c0 = CpuSeconds();
  auto summary = ad::actors::RunActor(demo, ad::actors::LocalEnvFactory(),
                                      sink->get(), &metrics, nullptr);
  CHECK(summary.ok()) << summary.status();
  const double wall = absl::ToDoubleSeconds(summary->elapsed);
  const double cpu = CpuSeconds() - c0;
  const double scale = static_cast<double>(all_tasks->size()) /
                       static_cast<double>(summary->tasks_total);
  absl::PrintF(
      "cpu-demo dataset (A3C, preset cpu-demo, 2 tasks in parallel):\n"
      "  %d of %d train tasks: %d env steps, %d episodes in %.1fs wall "
      "(%.1fs cpu), final mean return %.2f\n"
      "  all %d train tasks: ~%.0fs wall on this machine (extrapolated)\n",
      summary->tasks_total, all_tasks->size(), summary->env_steps,
      summary->episodes, wall, cpu, metrics.RecentMeanReturn("a3c"),
      all_tasks->size(), wall * scale);
  std::filesystem::remove_all(base);
  return 0;
}
