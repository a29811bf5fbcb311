// ad_bench_store --mode=pixels: Watermaze histories (72x96x3 frames rendered
// by the real env) with observations as bytes (obs_u8 on the wire,
// version-2 chunks) next to the int32 baseline (obs, version-1 chunks),
// both measured in the same run on the same frames.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "bench/store/store_bench_util.h"
#include "envs/registry.h"
#include "envs/watermaze.h"
#include "glog/logging.h"
#include "services/store/proto_convert.h"
#include "services/store/store_sink.h"
#include "storage/test_util.h"

ABSL_FLAG(uint64_t, pixel_histories, 8,
          "Watermaze histories appended per encoding (pixels mode)");
ABSL_FLAG(uint64_t, pixel_history_len, 500,
          "Transitions per Watermaze history (pixels mode; 50 per episode)");

namespace ad::store_bench {
namespace {

using services::store::StoreSink;

constexpr uint64_t kPixelChunk = 50;  // transitions: one episode

// `n` Watermaze transitions rendered by the real env: 4 instances on 4 tasks
// stepped with random actions, interleaved (history-like frames, real
// compressibility).
storage::Transitions WatermazeFrames(uint64_t n) {
  const envs::EnvFamily* family = envs::FindFamily("watermaze").value();
  const std::vector<std::string> all = family->AllTasks();
  const std::vector<std::string> tasks = {all[0], all[100], all[300], all[500]};
  auto env = std::move(family->Make(tasks, 4, /*seed=*/1)).value();
  const size_t dim = static_cast<size_t>(family->space().obs_dim);
  std::vector<int32_t> obs(4 * dim), actions(4);
  std::vector<float> rewards(4);
  std::vector<uint8_t> dones(4);
  CHECK(env->Reset(absl::MakeSpan(obs)).ok());
  std::mt19937 rng(7);
  storage::Transitions t;
  t.Resize(static_cast<uint32_t>(dim), n);
  for (uint64_t at = 0; at < n;) {
    const std::vector<int32_t> seen = obs;
    for (int32_t& a : actions) a = static_cast<int32_t>(rng() % 8);
    CHECK(env->Step(actions, {absl::MakeSpan(obs), absl::MakeSpan(rewards),
                              absl::MakeSpan(dones)})
              .ok());
    for (int i = 0; i < 4 && at < n; ++i, ++at) {
      std::copy(seen.begin() + i * dim, seen.begin() + (i + 1) * dim,
                t.obs.begin() + at * dim);
      t.actions[at] = actions[i];
      t.rewards[at] = rewards[i];
      t.dones[at] = at % kPixelChunk == kPixelChunk - 1;  // 50-step episodes
    }
  }
  return t;
}

storage::HistoryRecord PixelMeta(const std::string& id, int tag) {
  storage::HistoryRecord meta;
  meta.history_id = id;
  meta.env = "watermaze";
  meta.task_id = envs::FindFamily("watermaze").value()->AllTasks()[tag % 640];
  meta.source = "dqn";
  meta.split = "train";
  meta.obs_dim = envs::FindFamily("watermaze").value()->space().obs_dim;
  meta.num_actions = 8;
  return meta;
}

// Bytes of the .sst files under `directory` (a checkpoint: memtables
// flushed, so this is everything the store keeps on disk, compressed).
uint64_t SstBytes(const std::string& directory) {
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() == ".sst") bytes += entry.file_size();
  }
  return bytes;
}

struct PixelFigures {
  double wire_bytes = 0;  // per transition, AppendRequest chunk payload
  double disk_bytes = 0;  // per transition, SST files after a flush
  double append = 0;      // transitions/s over gRPC (StoreSink, 4 writers)
  double sample_in_process = 0, sample_grpc = 0;  // windows/s
  Latency in_lat{}, grpc_lat{};
};

// One encoding of the same frames: a fresh store (int32 or byte chunks),
// appends over gRPC with obs or obs_u8, then sampling.
PixelFigures MeasurePixels(const storage::testing::TempDir& dir,
                           const storage::Transitions& frames, bool obs_bytes,
                           uint64_t histories, double seconds) {
  const std::string name = obs_bytes ? "bytes" : "int32";
  ServedStore served = Serve(OpenStore(dir.Sub(name), 256, 128,
                                       /*sync=*/false, obs_bytes));
  PixelFigures f;
  std::vector<ad::actors::TransitionChunk> chunks;
  uint64_t wire = 0;
  for (uint64_t c = 0; c * kPixelChunk < frames.size(); ++c) {
    storage::Transitions part;
    part.Append(frames.view(), c * kPixelChunk, kPixelChunk);
    ad::actors::TransitionChunk chunk;
    chunk.seq = c;
    chunk.first = c * kPixelChunk;
    services::store::ToProto(part.view(), &chunk.transitions, obs_bytes);
    float episode = 0;
    for (float r : part.rewards) episode += r;
    chunk.episode_returns.push_back(episode);  // one episode per chunk
    wire += chunk.transitions.ByteSizeLong();
    chunks.push_back(std::move(chunk));
  }
  f.wire_bytes = static_cast<double>(wire) / frames.size();
  const uint64_t total = histories * frames.size();
  // A history per writer thread at a time, PixelMeta per history.
  StoreSink::Options options;
  options.address = served.server->address();
  auto sink = std::move(StoreSink::Create(options)).value();
  const absl::Time start = absl::Now();
  OnFourThreads(histories, [&](uint64_t h) {
    ad::v1::HistoryMeta meta;
    services::store::ToProto(
        PixelMeta(absl::StrCat("px/", h), static_cast<int>(h)), &meta);
    for (uint64_t c = 0; c < chunks.size(); ++c) {
      CHECK(sink->Append(meta, chunks[c], c + 1 == chunks.size()).ok());
    }
  });
  CHECK(sink->Flush(absl::Minutes(5)).ok());
  f.append = total / absl::ToDoubleSeconds(absl::Now() - start);
  CHECK(served.store->GetStats().transitions == total);
  const std::string checkpoint = dir.Sub(name + "-checkpoint");
  CHECK(served.store->Checkpoint(checkpoint).ok());
  f.disk_bytes = static_cast<double>(SstBytes(checkpoint)) / total;

  storage::WindowSampler::Options sampler;
  sampler.filter.env = "watermaze";
  sampler.window_len = kPixelChunk;
  sampler.batch_size = 8;
  sampler.seed = 1;
  SampleInProcess(*served.store, seconds, &f.sample_in_process, &f.in_lat,
                  sampler);
  ad::v1::SampleWindowsRequest request;
  request.mutable_filter()->set_env("watermaze");
  request.set_window_len(kPixelChunk);
  request.set_batch_size(8);
  SampleOverGrpc(*served.client, seconds, 1, &f.sample_grpc, &f.grpc_lat,
                 request);
  served.server->Shutdown(absl::ZeroDuration());
  return f;
}

}  // namespace

int Pixels(double seconds) {
  storage::testing::TempDir dir;
  const uint64_t histories = absl::GetFlag(FLAGS_pixel_histories);
  const uint64_t len = std::max<uint64_t>(
      absl::GetFlag(FLAGS_pixel_history_len) / kPixelChunk * kPixelChunk,
      kPixelChunk);
  const absl::Time render_start = absl::Now();
  const storage::Transitions frames = WatermazeFrames(len);
  std::printf(
      "store bench (pixels): %u cores, %llu Watermaze histories x %llu "
      "transitions (72x96x3 frames from the real env, rendered in %.1f s), "
      "chunks of %llu, windows 8 x %llu\n",
      std::thread::hardware_concurrency(),
      static_cast<unsigned long long>(histories),
      static_cast<unsigned long long>(len),
      absl::ToDoubleSeconds(absl::Now() - render_start),
      static_cast<unsigned long long>(kPixelChunk),
      static_cast<unsigned long long>(kPixelChunk));
  const PixelFigures a =
      MeasurePixels(dir, frames, /*obs_bytes=*/false, histories, seconds);
  const PixelFigures b =
      MeasurePixels(dir, frames, /*obs_bytes=*/true, histories, seconds);
  std::printf("%-28s %12s %12s %14s %14s %14s\n", "per transition / rate",
              "wire B", "disk B", "append tr/s", "sample w/s", "sample w/s");
  std::printf("%-28s %12s %12s %14s %14s %14s\n", "", "(chunk)", "(SST, LZ4)",
              "(gRPC sink)", "(in-process)", "(gRPC)");
  for (const auto& [label, f] : {std::pair<const char*, const PixelFigures&>{
                                     "int32 obs, v1 chunks (old)", a},
                                 std::pair<const char*, const PixelFigures&>{
                                     "obs_u8, v2 byte chunks", b}}) {
    std::printf("%-28s %12.0f %12.0f %14.0f %14.1f %14.1f\n", label,
                f.wire_bytes, f.disk_bytes, f.append, f.sample_in_process,
                f.sample_grpc);
  }
  std::printf("%-28s %11.2fx %11.2fx %13.2fx %13.2fx %13.2fx\n",
              "bytes vs int32", a.wire_bytes / b.wire_bytes,
              a.disk_bytes / b.disk_bytes, b.append / a.append,
              b.sample_in_process / a.sample_in_process,
              b.sample_grpc / a.sample_grpc);
  std::printf(
      "raw: %d bytes per frame (%d as int32); sample batch p50/p99 ms: "
      "int32 %.1f/%.1f in-process, %.1f/%.1f gRPC; bytes %.1f/%.1f "
      "in-process, %.1f/%.1f gRPC\n",
      envs::kWatermazeFrameBytes, envs::kWatermazeFrameBytes * 4,
      a.in_lat.p50_ms, a.in_lat.p99_ms, a.grpc_lat.p50_ms, a.grpc_lat.p99_ms,
      b.in_lat.p50_ms, b.in_lat.p99_ms, b.grpc_lat.p50_ms, b.grpc_lat.p99_ms);
  return 0;
}

}  // namespace ad::store_bench
