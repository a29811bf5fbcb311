// Training throughput of the C++ learner, as one JSON line on stdout:
//
//   ad_bench_learner --preset=cpu-demo --steps=30 --warmup=5 --threads=2
//     -> {"impl":"cpp","engine":"fused","preset":"cpu-demo",
//         "train_flops_per_token":...,"tokens_per_second":...,
//         "sample_wait_fraction":...,"step_ms":...}
//   ad_bench_learner --peak --threads=2   (the fp32 sgemm peak)
//     -> {"impl":"sgemm","threads":2,"gflops":...}
//
// Data: synthetic Dark Room learning histories (learner/synthetic_darkroom.h)
// or, with --data=watermaze, rendered Watermaze histories (for pixel presets:
//   ad_bench_learner --preset=cpu-watermaze --data=watermaze --steps=10)
// served in-process, or -- with --store=ADDR -- uploaded to a running
// ad-store and sampled back over gRPC (the real data path; its sample-wait
// fraction is the figure that matters there). --dump_batches=PATH writes the
// first --dump_count batches of the in-process source, so the PyTorch
// baseline (ad_model_pytorch.py) trains on exactly the same data. The
// engine is the config's train.engine (--set=train.engine=torch for the
// LibTorch autograd one). Driven by run_bench.sh, which runs the engines and
// PyTorch in the same run and prints the ratios and shares of the peak.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "bench/learner/bench_config.h"
#include "common/memory.h"
#include "envs/watermaze.h"
#include "glog/logging.h"
#include "learner/config.h"
#include "learner/device.h"
#include "learner/fused_step.h"
#include "learner/in_process_source.h"
#include "learner/prefetcher.h"
#include "learner/synthetic_darkroom.h"
#include "learner/trainer.h"
#include "services/learner/history_upload.h"
#include "services/learner/store_window_source.h"
#include "torch/csrc/autograd/profiler_legacy.h"

ABSL_FLAG(std::string, preset, "cpu-demo", "Preset name or .cfg path");
ABSL_FLAG(std::string, set, "", "Overrides 'key=value;key=value'");
ABSL_FLAG(int64_t, steps, 30, "Measured steps");
ABSL_FLAG(int64_t, warmup, 5, "Steps before measuring");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads");
ABSL_FLAG(std::string, store, "", "ad-store address: sample over gRPC");
ABSL_FLAG(bool, upload, true, "With --store: upload the histories first");
ABSL_FLAG(std::string, dump_batches, "", "Write batches here and exit");
ABSL_FLAG(std::string, profile, "",
          "Write a Chrome trace of the measured steps here (LibTorch "
          "autograd profiler)");
ABSL_FLAG(int, dump_count, 8, "Batches written by --dump_batches");
ABSL_FLAG(bool, peak, false,
          "Print the fp32 matmul peak (a large sgemm through LibTorch's "
          "BLAS, --threads threads) as {\"impl\":\"sgemm\",...} and exit");
ABSL_FLAG(std::string, data, "darkroom",
          "Synthetic histories: darkroom (tabular-Q Dark Room) or watermaze "
          "(rendered 72x96x3 frames, for pixel presets such as "
          "cpu-watermaze)");
ABSL_FLAG(int, watermaze_tasks, 4, "With --data=watermaze: histories (1-8)");
ABSL_FLAG(
    int64_t, rss_every, 0,
    "Print a JSON line with the resident set size (MiB) every N measured "
    "steps: the memory curve of a long run (0: only the peak at the end)");
ABSL_FLAG(std::string, dump_config, "",
          "With --dump_batches: write the full config (every key) here");

namespace al = ad::learner;
namespace sl = ad::services::learner;

namespace {

// Best GFLOP/s of n x n x n sgemm over a few repetitions.
double MatmulPeakGflops() {
  constexpr int64_t kN = 1536;
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::randn({kN, kN});
  torch::Tensor b = torch::randn({kN, kN});
  torch::Tensor c = torch::empty({kN, kN});
  at::mm_out(c, a, b);  // warm-up
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const absl::Time start = absl::Now();
    at::mm_out(c, a, b);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    best = std::max(best, 2.0 * kN * kN * kN / seconds / 1e9);
  }
  return best;
}

// Watermaze learning histories stand-ins: per task, an epsilon-greedy
// expert whose epsilon falls from 1 to 0.1 over the episodes, rendered to
// 72x96x3 frames (obs_dim 20736). Enough for throughput, not for learning.
std::vector<al::History> WatermazeHistories(int tasks, int episodes) {
  const ad::envs::WatermazeTask kTasks[] = {{20, 9},  {10, 20}, {15, 5},
                                            {25, 15}, {5, 15},  {15, 25},
                                            {22, 22}, {8, 8}};
  CHECK_LE(tasks, 8);
  std::mt19937_64 rng(1);
  std::vector<al::History> histories;
  std::vector<uint8_t> frame(ad::envs::kWatermazeFrameBytes);
  for (int k = 0; k < tasks; ++k) {
    al::History h;
    h.history_id = absl::StrCat("watermaze-bench-", k);
    h.task_id = ad::envs::FormatWatermazeTask(kTasks[k]);
    h.obs_dim = ad::envs::kWatermazeFrameBytes;
    const ad::envs::WatermazePoint platform =
        ad::envs::WatermazePlatformCentre(kTasks[k]);
    for (int e = 0; e < episodes; ++e) {
      const double epsilon = 1.0 - 0.9 * e / std::max(episodes - 1, 1);
      ad::envs::WatermazePose pose;
      pose.heading = static_cast<int32_t>(rng() % ad::envs::kWatermazeHeadings);
      for (int t = 0; t < ad::envs::kWatermazeEpisodeLen; ++t) {
        ad::envs::RenderWatermazeFrame(pose, absl::MakeSpan(frame));
        h.obs.insert(h.obs.end(), frame.begin(), frame.end());
        const bool explore = (rng() % 1000) < epsilon * 1000;
        const int32_t action =
            explore
                ? static_cast<int32_t>(rng() % ad::envs::kWatermazeNumActions)
                : ad::envs::WatermazeExpertAction(pose, platform);
        pose = ad::envs::ApplyWatermazeAction(pose, action);
        h.actions.push_back(action);
        h.rewards.push_back(
            ad::envs::OnWatermazePlatform(pose, platform) ? 1.0f : 0.0f);
        h.dones.push_back(t + 1 == ad::envs::kWatermazeEpisodeLen);
      }
    }
    histories.push_back(std::move(h));
  }
  return histories;
}

std::vector<al::History> DarkRoomHistories() {
  std::vector<al::DarkRoomGoal> train, test;
  al::DarkRoomGoalSplit(/*test_every=*/4, /*test_offset=*/0, train, test);
  al::SyntheticDarkRoomOptions o;
  o.goals = train;
  o.histories_per_goal = 2;
  o.episodes = 60;
  return al::SyntheticDarkRoomHistories(o);
}

// The histories of --data for `config`'s window length.
std::vector<al::History> Histories(const al::LearnerConfig& config) {
  const std::string data = absl::GetFlag(FLAGS_data);
  if (data == "watermaze") {
    // Every history holds at least one window (plus a few starts).
    const int episodes =
        config.model.context_len / ad::envs::kWatermazeEpisodeLen + 2;
    return WatermazeHistories(absl::GetFlag(FLAGS_watermaze_tasks), episodes);
  }
  CHECK_EQ(data, "darkroom") << "--data is darkroom or watermaze";
  return DarkRoomHistories();
}

// Raw little-endian arrays per batch: obs int32 [B,T,2], actions int32
// [B,T], rewards float32 [B,T], dones uint8 [B,T].
void Dump(al::WindowSource& source, const std::string& path, int count) {
  std::ofstream out(path, std::ios::binary);
  for (int i = 0; i < count; ++i) {
    auto w = source.Next(absl::InfiniteFuture());
    CHECK(w.ok()) << w.status();
    auto write = [&](const auto& v) {
      out.write(reinterpret_cast<const char*>(v.data()),
                static_cast<std::streamsize>(v.size() * sizeof(v[0])));
    };
    write(w->obs);
    write(w->actions);
    write(w->rewards);
    write(w->dones);
  }
  CHECK(out.good()) << "cannot write " << path;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  const al::LearnerConfig config = ad::bench::LoadBenchConfig(
      absl::GetFlag(FLAGS_preset), absl::GetFlag(FLAGS_set),
      absl::GetFlag(FLAGS_threads));
  if (absl::GetFlag(FLAGS_peak)) {
    std::printf("{\"impl\":\"sgemm\",\"threads\":%d,\"gflops\":%.1f}\n",
                absl::GetFlag(FLAGS_threads), MatmulPeakGflops());
    return 0;
  }

  al::WindowRequest request;
  request.window_len = config.model.context_len;
  request.batch_size = config.train.batch_size;
  request.seed = config.train.seed;
  std::unique_ptr<al::WindowSource> source;
  const std::string store = absl::GetFlag(FLAGS_store);
  if (store.empty()) {
    auto in_process =
        al::InProcessWindowSource::Create(Histories(config), request);
    CHECK(in_process.ok()) << in_process.status();
    source = *std::move(in_process);
  } else {
    if (absl::GetFlag(FLAGS_upload)) {
      ad::services::store::StoreSink::Options sink_options;
      sink_options.address = store;
      auto sink = ad::services::store::StoreSink::Create(sink_options);
      CHECK(sink.ok()) << sink.status();
      const absl::Status s = sl::UploadHistories(Histories(config), {}, **sink);
      CHECK(s.ok()) << s;
    }
    sl::StoreWindowSource::Options options;
    options.client.address = store;
    options.request = request;
    options.data = config.data;
    auto remote = sl::StoreWindowSource::Create(options);
    CHECK(remote.ok()) << remote.status();
    source = *std::move(remote);
  }
  const std::string dump = absl::GetFlag(FLAGS_dump_batches);
  if (!dump.empty()) {
    Dump(*source, dump, absl::GetFlag(FLAGS_dump_count));
    const std::string config_path = absl::GetFlag(FLAGS_dump_config);
    if (!config_path.empty()) {
      std::ofstream out(config_path);
      out << al::FormatConfig(config);
      CHECK(out.good()) << "cannot write " << config_path;
    }
    return 0;
  }

  auto trainer = al::Trainer::Create(config, torch::kCPU);
  CHECK(trainer.ok()) << trainer.status();
  al::Prefetcher::Options prefetch;
  prefetch.model = config.model;
  prefetch.capacity = config.data.prefetch_batches;
  al::Prefetcher prefetcher(std::move(source), prefetch);
  al::LoopOptions loop;
  loop.progress_line = false;
  // Warm-up steps first, then the measured ones under a CPU-time clock:
  // on a shared machine, tokens per CPU-second of this process (all its
  // threads) is the steadier measure of the implementation itself.
  const int64_t warmup = absl::GetFlag(FLAGS_warmup);
  if (warmup > 0) {
    loop.until_step = warmup;
    CHECK(al::RunTraining(**trainer, prefetcher, nullptr, loop).ok());
  }
  loop.until_step = warmup + absl::GetFlag(FLAGS_steps);
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  if (!absl::GetFlag(FLAGS_profile).empty()) {
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(
        absl::GetFlag(FLAGS_profile));
  }
  const std::clock_t cpu_start = std::clock();
  const int64_t rss_every = absl::GetFlag(FLAGS_rss_every);
  if (rss_every > 0) {
    // The memory curve: after warm-up, resident size every rss_every steps.
    auto print_rss = [](int64_t step) {
      std::printf("{\"rss_mb\":%.1f,\"step\":%lld}\n", ad::ResidentMb(),
                  static_cast<long long>(step));
      std::fflush(stdout);
    };
    print_rss((*trainer)->step());
    loop.on_step = [&](const al::LoopStats& s) {
      if (s.step.step % rss_every == 0) print_rss(s.step.step);
    };
  }
  auto summary = al::RunTraining(**trainer, prefetcher, nullptr, loop);
  const double cpu_seconds =
      static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  CHECK(summary.ok()) << summary.status();
  profile.reset();
  const int64_t measured = summary->steps_run;
  // The step's arithmetic: forward + backward ~ 3x the forward's matmul
  // and attention FLOPs (learner/fused_step.h).
  const double train_flops_per_token =
      3.0 * al::ForwardFlopsPerToken(config.model, config.model.context_len);
  std::printf(
      "{\"impl\":\"cpp\",\"engine\":\"%s\",\"preset\":\"%s\","
      "\"source\":\"%s\",\"threads\":%d,\"batch\":%d,\"window\":%d,"
      "\"steps\":%lld,\"train_flops_per_token\":%.0f,"
      "\"tokens_per_second\":%.1f,"
      "\"cpu_tokens_per_second\":%.1f,\"sample_wait_fraction\":%.4f,"
      "\"step_ms\":%.2f,\"steps_per_second\":%.3f,\"loss\":%.4f,"
      "\"engine_in_use\":\"%s\",\"data\":\"%s\",\"peak_rss_mb\":%.1f}\n",
      config.train.engine.c_str(), config.preset.c_str(),
      store.empty() ? "in-process" : "ad-store", absl::GetFlag(FLAGS_threads),
      config.train.batch_size, config.model.context_len,
      static_cast<long long>(measured), train_flops_per_token,
      summary->tokens_per_second,
      static_cast<double>(summary->tokens) / std::max(cpu_seconds, 1e-9),
      summary->sample_wait_fraction,
      1000.0 * summary->seconds / std::max<int64_t>(measured, 1),
      static_cast<double>(measured) / std::max(summary->seconds, 1e-9),
      summary->last.loss, (*trainer)->engine(),
      absl::GetFlag(FLAGS_data).c_str(), ad::PeakResidentMb());
  return 0;
}
