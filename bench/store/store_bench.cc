// Trajectory store throughput and memory, each figure next to its
// in-process baseline measured in the same run:
//
//   append      transitions/s through StoreSink over loopback gRPC (WAL on,
//               no fsync; and with --sync_too, fsync per write) vs direct
//               TrajectoryStore::Append calls
//   sample      windows/s and p50/p99 batch latency of SampleWindows over
//               loopback gRPC vs the in-process WindowSampler
//   blocked     small-chunk appends/s over gRPC while --blocked_samplers
//               SampleWindows calls wait on a min_transitions they will not
//               reach, vs the same appends with none waiting
//   memory      (--mode=memory) peak RSS while sampling uniformly from a
//               dataset several times larger than the block cache
//   pixels      (--mode=pixels) Watermaze histories (72x96x3 frames rendered
//               by the real env): wire and disk bytes per transition, append
//               transitions/s over gRPC and windows/s sampled in-process and
//               over gRPC, with observations as bytes (obs_u8 on the wire,
//               version-2 chunks) next to the int32 baseline (obs, version-1
//               chunks: what every release before byte observations did),
//               both measured in the same run on the same frames
//
// Darkroom-shaped data (the other modes): obs_dim 2, 5 actions, episodes of
// 20 steps, chunks of 1000 transitions. Everything runs on this machine's
// cores, client and server included.
//
//   ad_bench_store [--mode=throughput|memory|blocked|pixels] [--seconds=3]
//                  [--blocked_samplers=60] [--blocked_chunks=20000]
//                  [--pixel_histories=8] [--pixel_history_len=500]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/store/store_bench_util.h"
#include "common/memory.h"
#include "glog/logging.h"
#include "services/common/server.h"
#include "services/store/proto_convert.h"
#include "services/store/store_client.h"
#include "services/store/store_service.h"
#include "services/store/store_sink.h"
#include "storage/test_util.h"
#include "storage/trajectory_store.h"
#include "storage/window_sampler.h"

ABSL_FLAG(std::string, mode, "throughput",
          "throughput, memory, blocked (only the blocked-samplers phase) or "
          "pixels (Watermaze frames, bytes vs int32)");
ABSL_FLAG(double, seconds, 3, "Length of each timed phase");
ABSL_FLAG(uint64_t, histories, 64, "Histories appended (throughput mode)");
ABSL_FLAG(uint64_t, history_len, 40000, "Transitions per history");
ABSL_FLAG(bool, sync_too, true, "Also measure appends with fsync per write");
ABSL_FLAG(uint64_t, memory_transitions, 20000000,
          "Dataset size of the memory mode, in transitions");
ABSL_FLAG(int, block_cache_mb, 32, "Block cache of the memory mode");
ABSL_FLAG(int, chunk_cache_mb, 16, "Decoded-chunk cache of the memory mode");
ABSL_FLAG(int, blocked_samplers, 60,
          "SampleWindows calls kept waiting during the blocked phase");
ABSL_FLAG(uint64_t, blocked_chunks, 20000,
          "Chunks of 50 transitions appended per blocked-phase measurement");

namespace ad {
namespace {

using store_bench::Latency;
using store_bench::OnFourThreads;
using store_bench::OpenStore;
using store_bench::SampleInProcess;
using store_bench::SampleOverGrpc;
using store_bench::Serve;
using store_bench::ServedStore;

using services::store::StoreClient;
using services::store::StoreServiceImpl;
using services::store::StoreSink;
using storage::TrajectoryStore;

constexpr uint64_t kChunk = 1000;
constexpr uint64_t kEpisode = 20;

// Darkroom-like transitions [first, first + n) of history `tag`.
storage::Transitions Darkroom(int tag, uint64_t first, uint64_t n) {
  std::mt19937 rng(static_cast<uint32_t>(tag * 7919 + first));
  storage::Transitions t;
  t.Resize(2, n);
  for (uint64_t i = 0; i < n; ++i) {
    t.obs[2 * i] = static_cast<int32_t>(rng() % 9);
    t.obs[2 * i + 1] = static_cast<int32_t>(rng() % 9);
    t.actions[i] = static_cast<int32_t>(rng() % 5);
    t.rewards[i] = rng() % 4 == 0 ? 1.0f : 0.0f;
    t.dones[i] = (first + i) % kEpisode == kEpisode - 1;
  }
  return t;
}

storage::HistoryRecord Meta(const std::string& id, int tag) {
  storage::HistoryRecord meta;
  meta.history_id = id;
  meta.env = "darkroom";
  meta.task_id = absl::StrCat("darkroom/goal=", tag % 9, ",", tag / 9 % 9);
  meta.source = "a3c";
  meta.split = "train";
  meta.obs_dim = 2;
  meta.num_actions = 5;
  return meta;
}

// Direct appends: `histories` histories from 4 threads, in-process.
double AppendInProcess(TrajectoryStore& store, const std::string& prefix,
                       uint64_t histories, uint64_t len) {
  std::vector<storage::Transitions> chunks;
  for (uint64_t c = 0; c < len / kChunk; ++c) {
    chunks.push_back(Darkroom(1, c * kChunk, kChunk));
  }
  const absl::Time start = absl::Now();
  OnFourThreads(histories, [&](uint64_t h) {
    const std::string id = absl::StrCat(prefix, h);
    const storage::HistoryRecord meta = Meta(id, static_cast<int>(h));
    for (uint64_t c = 0; c < chunks.size(); ++c) {
      TrajectoryStore::AppendRequest request;
      request.history_id = id;
      request.seq = c;
      request.meta = &meta;
      request.chunk = chunks[c].view();
      request.final = c + 1 == chunks.size();
      CHECK(store.Append(request).ok());
    }
  });
  return static_cast<double>(histories * len) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

// `n` chunks of `chunk_len` Darkroom transitions, as an actor sends them
// (seq c starting at transition c * chunk_len).
std::vector<ad::actors::TransitionChunk> WireChunks(uint64_t n,
                                                    uint64_t chunk_len) {
  std::vector<ad::actors::TransitionChunk> chunks;
  float open_return = 0;  // of the episode running across chunk boundaries
  for (uint64_t c = 0; c < n; ++c) {
    ad::actors::TransitionChunk chunk;
    chunk.seq = c;
    chunk.first = c * chunk_len;
    const auto transitions = Darkroom(1, c * chunk_len, chunk_len);
    services::store::ToProto(transitions.view(), &chunk.transitions);
    // One return per episode the chunk completes, as an actor reports them.
    for (uint64_t i = 0; i < chunk_len; ++i) {
      open_return += transitions.rewards[i];
      if (transitions.dones[i] != 0) {
        chunk.episode_returns.push_back(open_return);
        open_return = 0;
      }
    }
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

// Seconds to append `chunks` to each of `histories` histories over gRPC:
// 4 actor threads (history h on thread h % 4) share one StoreSink, flushed
// within `flush_timeout`.
double SecondsToAppendOverGrpc(
    const std::string& address, const std::string& prefix, uint64_t histories,
    const std::vector<ad::actors::TransitionChunk>& chunks,
    absl::Duration flush_timeout) {
  StoreSink::Options options;
  options.address = address;
  auto sink = std::move(StoreSink::Create(options)).value();
  const absl::Time start = absl::Now();
  OnFourThreads(histories, [&](uint64_t h) {
    const std::string id = absl::StrCat(prefix, h);
    ad::v1::HistoryMeta meta;
    services::store::ToProto(Meta(id, static_cast<int>(h)), &meta);
    for (uint64_t c = 0; c < chunks.size(); ++c) {
      CHECK(sink->Append(meta, chunks[c], c + 1 == chunks.size()).ok());
    }
  });
  CHECK(sink->Flush(flush_timeout).ok());
  return absl::ToDoubleSeconds(absl::Now() - start);
}

// Appends through StoreSink over gRPC: 4 actor threads share one sink.
double AppendOverGrpc(const std::string& address, const std::string& prefix,
                      uint64_t histories, uint64_t len) {
  const std::vector<ad::actors::TransitionChunk> chunks =
      WireChunks(len / kChunk, kChunk);
  return static_cast<double>(histories * len) /
         SecondsToAppendOverGrpc(address, prefix, histories, chunks,
                                 absl::Minutes(2));
}

// Chunks/s of `chunks` chunks of `chunk_len` transitions, appended over gRPC
// round-robin to 64 histories by 4 actor threads sharing one StoreSink.
double ChunksPerSecondOverGrpc(const std::string& address,
                               const std::string& prefix, uint64_t chunks,
                               uint64_t chunk_len) {
  constexpr uint64_t kHistories = 64;
  const uint64_t per_history = std::max<uint64_t>(chunks / kHistories, 1);
  const std::vector<ad::actors::TransitionChunk> wire =
      WireChunks(per_history, chunk_len);
  return static_cast<double>(kHistories * per_history) /
         SecondsToAppendOverGrpc(address, prefix, kHistories, wire,
                                 absl::Minutes(5));
}

// Append rate with 0 and then `waiters` SampleWindows calls blocked on a
// min_transitions the store will not reach during the run.
void BlockedSamplers(StoreClient& client, const std::string& address,
                     int waiters, uint64_t chunks) {
  constexpr uint64_t kSmallChunk = 50;
  const double alone =
      ChunksPerSecondOverGrpc(address, "alone/", chunks, kSmallChunk);
  std::vector<std::unique_ptr<services::store::WindowStream>> streams;
  std::vector<std::thread> readers;
  for (int i = 0; i < waiters; ++i) {
    ad::v1::SampleWindowsRequest request;
    request.mutable_filter()->set_env("darkroom");
    request.set_window_len(80);
    request.set_batch_size(16);
    request.set_num_batches(1);
    request.set_min_transitions(uint64_t{1} << 50);
    streams.push_back(client.SampleWindows(request, absl::Minutes(10)));
  }
  for (auto& stream : streams) {
    readers.emplace_back([s = stream.get()] {
      ad::v1::WindowBatch batch;
      while (s->Next(&batch)) {
      }
      s->Finish().IgnoreError();
    });
  }
  // Benchmark only: give the calls time to reach the server and block.
  absl::SleepFor(absl::Seconds(1));
  const double blocked =
      ChunksPerSecondOverGrpc(address, "blocked/", chunks, kSmallChunk);
  for (auto& stream : streams) stream->Cancel();
  for (auto& t : readers) t.join();
  std::printf(
      "append %llu-transition chunks over gRPC: %10.0f chunks/s alone, "
      "%10.0f chunks/s with %d SampleWindows blocked on min_transitions "
      "(%.2fx)\n",
      static_cast<unsigned long long>(kSmallChunk), alone, blocked, waiters,
      blocked / alone);
}

int Throughput() {
  storage::testing::TempDir dir;
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const uint64_t histories = absl::GetFlag(FLAGS_histories);
  const uint64_t len = absl::GetFlag(FLAGS_history_len) / kChunk * kChunk;
  ServedStore served =
      Serve(OpenStore(dir.Sub("db"), 256, 128, /*sync=*/false));
  TrajectoryStore* store = served.store.get();
  services::Server* server = served.server.get();
  StoreClient* client = served.client.get();

  std::printf(
      "store bench: %u cores, darkroom-shaped data (obs_dim 2), "
      "chunks of %llu transitions\n",
      std::thread::hardware_concurrency(),
      static_cast<unsigned long long>(kChunk));
  const double direct = AppendInProcess(*store, "direct/", histories, len);
  const double grpc =
      AppendOverGrpc(server->address(), "grpc/", histories, len);
  std::printf(
      "append (WAL, no fsync)  in-process %10.0f transitions/s   "
      "gRPC StoreSink %10.0f transitions/s  (%.2fx)   goal >= 500000\n",
      direct, grpc, grpc / direct);
  if (absl::GetFlag(FLAGS_sync_too)) {
    ServedStore synced =
        Serve(OpenStore(dir.Sub("synced"), 64, 16, /*sync=*/true));
    const double direct_sync =
        AppendInProcess(*synced.store, "direct/", histories / 4, len);
    const double grpc_sync =
        AppendOverGrpc(synced.server->address(), "grpc/", histories / 4, len);
    std::printf(
        "append (WAL + fsync)    in-process %10.0f transitions/s   "
        "gRPC StoreSink %10.0f transitions/s  (%.2fx)\n",
        direct_sync, grpc_sync, grpc_sync / direct_sync);
    synced.server->Shutdown(absl::ZeroDuration());
  }

  const auto stats = store->GetStats();
  std::printf("dataset: %llu histories, %llu transitions, %.1f MB on disk\n",
              static_cast<unsigned long long>(stats.histories),
              static_cast<unsigned long long>(stats.transitions),
              stats.db_bytes / 1e6);
  double in_rate = 0, grpc_rate = 0, grpc2_rate = 0;
  Latency in_lat{}, grpc_lat{}, grpc2_lat{};
  SampleInProcess(*store, seconds, &in_rate, &in_lat);
  SampleOverGrpc(*client, seconds, 1, &grpc_rate, &grpc_lat);
  SampleOverGrpc(*client, seconds, 2, &grpc2_rate, &grpc2_lat);
  std::printf(
      "sample 128 x 80  in-process       %9.0f windows/s  batch p50 "
      "%6.2f ms  p99 %6.2f ms\n",
      in_rate, in_lat.p50_ms, in_lat.p99_ms);
  std::printf(
      "sample 128 x 80  gRPC, 1 stream   %9.0f windows/s  batch p50 "
      "%6.2f ms  p99 %6.2f ms  (%.2fx in-process)  goal >= 50000\n",
      grpc_rate, grpc_lat.p50_ms, grpc_lat.p99_ms, grpc_rate / in_rate);
  std::printf(
      "sample 128 x 80  gRPC, 2 streams  %9.0f windows/s  batch p50 "
      "%6.2f ms  p99 %6.2f ms  (%.2fx in-process)\n",
      grpc2_rate, grpc2_lat.p50_ms, grpc2_lat.p99_ms, grpc2_rate / in_rate);
  std::printf(
      "reference: Reverb publishes ~30k samples/s of 40 kB items; a "
      "128 x 80 darkroom window is ~1.4 kB\n");
  if (absl::GetFlag(FLAGS_blocked_samplers) > 0) {
    BlockedSamplers(*client, server->address(),
                    absl::GetFlag(FLAGS_blocked_samplers),
                    absl::GetFlag(FLAGS_blocked_chunks));
  }
  server->Shutdown(absl::ZeroDuration());
  return 0;
}

// Only the blocked-samplers comparison (--mode=blocked).
int Blocked() {
  storage::testing::TempDir dir;
  ServedStore served =
      Serve(OpenStore(dir.Sub("db"), 256, 128, /*sync=*/false));
  std::printf("store bench (blocked samplers): %u cores\n",
              std::thread::hardware_concurrency());
  BlockedSamplers(*served.client, served.server->address(),
                  absl::GetFlag(FLAGS_blocked_samplers),
                  absl::GetFlag(FLAGS_blocked_chunks));
  served.server->Shutdown(absl::ZeroDuration());
  return 0;
}

int Memory() {
  storage::testing::TempDir dir;
  const uint64_t total =
      absl::GetFlag(FLAGS_memory_transitions) / kChunk * kChunk;
  const size_t cache_mb = absl::GetFlag(FLAGS_block_cache_mb);
  const size_t chunk_mb = absl::GetFlag(FLAGS_chunk_cache_mb);
  const double baseline = ResidentMb();
  uint64_t histories = total / 200000;
  {
    auto store = OpenStore(dir.Sub("db"), cache_mb, chunk_mb, false);
    AppendInProcess(*store, "h", histories, total / histories);
    std::printf(
        "populated %llu transitions (%.0f MB raw) into a %zu MB block "
        "cache + %zu MB chunk cache; peak RSS so far %.0f MB\n",
        static_cast<unsigned long long>(total), total * 17 / 1e6, cache_mb,
        chunk_mb, PeakResidentMb());
  }
  // Reopen so the sampling phase starts from a cold process-level cache.
  auto store = OpenStore(dir.Sub("db"), cache_mb, chunk_mb, false);
  const double after_open = ResidentMb();
  double rate = 0;
  Latency latency{};
  SampleInProcess(*store, absl::GetFlag(FLAGS_seconds) * 3, &rate, &latency);
  const auto stats = store->GetStats();
  std::printf(
      "db on disk %.0f MB (LZ4); uniform sampling %.0f windows/s, "
      "batch p50 %.2f ms p99 %.2f ms\n",
      stats.db_bytes / 1e6, rate, latency.p50_ms, latency.p99_ms);
  std::printf(
      "RSS: process baseline %.0f MB, after reopen %.0f MB, now %.0f "
      "MB, peak %.0f MB; budget = block cache %zu MB + chunk cache "
      "%zu MB; chunk cache holds %.0f MB\n",
      baseline, after_open, ResidentMb(), PeakResidentMb(), cache_mb, chunk_mb,
      store->chunk_cache().usage_bytes() / 1e6);
  const auto usage = store->GetMemoryUsage();
  std::printf(
      "block cache in use %.0f MB (pinned %.0f MB, memtables %.0f "
      "MB), chunk cache %.0f MB\n",
      usage.block_cache / 1e6, usage.block_cache_pinned / 1e6,
      usage.memtables / 1e6, usage.chunk_cache / 1e6);
  return 0;
}

}  // namespace
}  // namespace ad

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  google::InitGoogleLogging(argv[0]);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "throughput") return ad::Throughput();
  if (mode == "memory") return ad::Memory();
  if (mode == "blocked") return ad::Blocked();
  if (mode == "pixels")
    return ad::store_bench::Pixels(absl::GetFlag(FLAGS_seconds));
  LOG(ERROR) << "--mode must be throughput, memory, blocked or pixels";
  return 2;
}
