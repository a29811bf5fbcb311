#include "bench/store/store_bench_util.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "glog/logging.h"

namespace ad::store_bench {

using services::store::StoreClient;
using services::store::StoreServiceImpl;
using storage::TrajectoryStore;

std::unique_ptr<TrajectoryStore> OpenStore(const std::string& path,
                                           size_t block_cache_mb,
                                           size_t chunk_cache_mb, bool sync,
                                           bool obs_bytes_in_chunks) {
  TrajectoryStore::Options options;
  options.obs_bytes_in_chunks = obs_bytes_in_chunks;
  options.path = path;
  options.block_cache_bytes = block_cache_mb << 20;
  options.write_buffer_bytes = std::min<size_t>(64, block_cache_mb / 4) << 20;
  options.chunk_cache_bytes = chunk_cache_mb << 20;
  options.sync = sync;
  auto store = TrajectoryStore::Open(options);
  CHECK(store.ok()) << store.status();
  return std::move(store).value();
}

Latency Percentiles(std::vector<double> seconds) {
  std::sort(seconds.begin(), seconds.end());
  auto at = [&](double q) {
    return seconds[std::min(seconds.size() - 1,
                            static_cast<size_t>(q * seconds.size()))] *
           1e3;
  };
  return {at(0.5), at(0.99)};
}

// Runs append(h) for every history h in [0, histories) on 4 threads, like
// 4 actors (history h on thread h % 4), and joins them.
void OnFourThreads(uint64_t histories,
                   const std::function<void(uint64_t)>& append) {
  std::vector<std::thread> threads;
  for (uint64_t w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (uint64_t h = w; h < histories; h += 4) append(h);
    });
  }
  for (auto& t : threads) t.join();
}

storage::WindowSampler::Options SamplerOptions() {
  storage::WindowSampler::Options options;
  options.window_len = 80;
  options.batch_size = 128;
  options.seed = 1;
  return options;
}

void SampleInProcess(const TrajectoryStore& store, double seconds,
                     double* windows_per_s, Latency* latency,
                     const storage::WindowSampler::Options& options) {
  auto sampler =
      std::move(storage::WindowSampler::Create(&store, options)).value();
  CHECK(sampler->WaitUntilReady(0, absl::InfiniteFuture(), [] { return false; })
            .ok());
  storage::WindowBatch batch;
  std::vector<double> times;
  const absl::Time start = absl::Now();
  while (absl::Now() - start < absl::Seconds(seconds)) {
    const absl::Time t0 = absl::Now();
    CHECK(sampler->Next(&batch).ok());
    times.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
  }
  *windows_per_s = times.size() * static_cast<double>(options.batch_size) /
                   absl::ToDoubleSeconds(absl::Now() - start);
  *latency = Percentiles(times);
}

// The darkroom request of the throughput mode: 128 windows of 80, any env.
ad::v1::SampleWindowsRequest DarkroomRequest() {
  ad::v1::SampleWindowsRequest request;
  request.set_window_len(80);
  request.set_batch_size(128);
  return request;
}

void SampleOverGrpc(StoreClient& client, double seconds, int streams,
                    double* windows_per_s, Latency* latency,
                    const ad::v1::SampleWindowsRequest& base) {
  std::vector<std::vector<double>> times(streams);
  std::vector<uint64_t> counts(streams, 0);
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      ad::v1::SampleWindowsRequest request = base;
      request.set_seed(s + 1);
      auto stream = client.SampleWindows(request, absl::Seconds(seconds + 30));
      ad::v1::WindowBatch batch;
      absl::Time last = absl::Now();
      while (absl::Now() - start < absl::Seconds(seconds) &&
             stream->Next(&batch)) {
        const absl::Time now = absl::Now();
        times[s].push_back(absl::ToDoubleSeconds(now - last));
        last = now;
        ++counts[s];
      }
      stream->Cancel();
      while (stream->Next(&batch)) {
      }
      stream->Finish().IgnoreError();
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  uint64_t total = 0;
  for (int s = 0; s < streams; ++s) {
    all.insert(all.end(), times[s].begin() + 1, times[s].end());
    total += counts[s];
  }
  *windows_per_s = total * static_cast<double>(base.batch_size()) / elapsed;
  *latency = Percentiles(all);
}

ServedStore Serve(std::unique_ptr<TrajectoryStore> store) {
  ServedStore served;
  served.store = std::move(store);
  served.registry = std::make_shared<prometheus::Registry>();
  served.service = std::make_unique<StoreServiceImpl>(
      StoreServiceImpl::Options(), served.store.get(), *served.registry);
  services::ServerOptions server_options;
  server_options.metrics_port = -1;
  served.server =
      std::move(services::Server::Start(server_options, {served.service.get()},
                                        nullptr))
          .value();
  StoreClient::Options client_options;
  client_options.address = served.server->address();
  served.client = std::move(StoreClient::Create(client_options)).value();
  return served;
}

}  // namespace ad::store_bench
