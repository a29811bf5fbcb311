// Helpers shared by the modes of ad_bench_store (store_bench.cc, the
// darkroom-shaped modes, and pixels_mode.cc, Watermaze frames): opening a
// store, serving it on loopback gRPC, appending from 4 writer threads and
// timing window sampling in-process and over gRPC. Benchmark code: failures
// CHECK-fail.
#ifndef AD_BENCH_STORE_STORE_BENCH_UTIL_H_
#define AD_BENCH_STORE_STORE_BENCH_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ad/v1/store.pb.h"
#include "services/common/server.h"
#include "services/store/store_client.h"
#include "services/store/store_service.h"
#include "storage/trajectory_store.h"
#include "storage/window_sampler.h"

namespace ad::store_bench {

// A fresh store at `path` with the given caches; `sync` fsyncs every write.
std::unique_ptr<storage::TrajectoryStore> OpenStore(
    const std::string& path, size_t block_cache_mb, size_t chunk_cache_mb,
    bool sync, bool obs_bytes_in_chunks = true);

struct Latency {
  double p50_ms, p99_ms;
};
Latency Percentiles(std::vector<double> seconds);

// Runs append(h) for every history h in [0, histories) on 4 threads, like
// 4 actors (history h on thread h % 4), and joins them.
void OnFourThreads(uint64_t histories,
                   const std::function<void(uint64_t)>& append);

// The throughput mode's sampler: 128 windows of 80, any env.
storage::WindowSampler::Options SamplerOptions();
// Samples in-process for `seconds`; windows/s and batch latency.
void SampleInProcess(
    const storage::TrajectoryStore& store, double seconds,
    double* windows_per_s, Latency* latency,
    const storage::WindowSampler::Options& options = SamplerOptions());

// The darkroom request of the throughput mode: 128 windows of 80, any env.
ad::v1::SampleWindowsRequest DarkroomRequest();
// `streams` concurrent SampleWindows streams for `seconds`.
void SampleOverGrpc(
    services::store::StoreClient& client, double seconds, int streams,
    double* windows_per_s, Latency* latency,
    const ad::v1::SampleWindowsRequest& base = DarkroomRequest());

// `store` served over loopback gRPC (no metrics port), and a client of it;
// members are destroyed client first, store last.
struct ServedStore {
  std::unique_ptr<storage::TrajectoryStore> store;
  std::shared_ptr<prometheus::Registry> registry;
  std::unique_ptr<services::store::StoreServiceImpl> service;
  std::unique_ptr<services::Server> server;
  std::unique_ptr<services::store::StoreClient> client;
};

ServedStore Serve(std::unique_ptr<storage::TrajectoryStore> store);

// --mode=pixels (pixels_mode.cc): Watermaze frames as bytes vs int32.
int Pixels(double seconds);

}  // namespace ad::store_bench

#endif  // AD_BENCH_STORE_STORE_BENCH_UTIL_H_
