// Prometheus metric helpers shared by every service.
//
// Names follow DESIGN.md: `ad_<service>_<what>_<unit>`, e.g.
// `ad_env_steps_total`, `ad_env_rpc_latency_seconds`. Every service owns one
// prometheus::Registry (shared with the server's /metrics exposer, see
// server.h) and creates its metrics through these helpers.
//
// RpcMetrics holds, for one service, the per-RPC latency histogram family
// `ad_<service>_rpc_latency_seconds{method}` and the request counter family
// `ad_<service>_rpc_requests_total{method,code}`. RpcTimer is an RAII guard
// that observes one RPC's latency and result code when it goes out of scope.
//
// Thread-safety: everything here is thread-safe (prometheus-cpp metrics are
// atomic or internally locked). Nothing blocks beyond a short internal lock.
#ifndef AD_SERVICES_COMMON_METRICS_H_
#define AD_SERVICES_COMMON_METRICS_H_

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ad::services {

// "ad_<service>_<what>" or "ad_<service>_<what>_<unit>" when unit is
// non-empty. Dies if service or what is empty (programmer error).
std::string MetricName(std::string_view service, std::string_view what,
                       std::string_view unit = "");

// Latency buckets in seconds, 50 us .. ~26 s, roughly x2 apart.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

// A single unlabelled counter / gauge registered under `name`. The returned
// reference lives as long as `registry`.
prometheus::Counter& AddCounter(prometheus::Registry& registry,
                                const std::string& name,
                                const std::string& help);
prometheus::Gauge& AddGauge(prometheus::Registry& registry,
                            const std::string& name, const std::string& help);
prometheus::Histogram& AddHistogram(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help,
    const prometheus::Histogram::BucketBoundaries& buckets);

// Per-RPC latency histograms and request counters of one service.
class RpcMetrics {
 public:
  // Registers `ad_<service>_rpc_latency_seconds` and
  // `ad_<service>_rpc_requests_total` in `registry`, which must outlive this.
  RpcMetrics(prometheus::Registry& registry, std::string_view service);
  RpcMetrics(const RpcMetrics&) = delete;
  RpcMetrics& operator=(const RpcMetrics&) = delete;

  // Records one finished RPC (or one message of a stream).
  void Observe(std::string_view method, grpc::StatusCode code,
               absl::Duration latency) ABSL_LOCKS_EXCLUDED(mu_);

  // The latency histogram of `method`, created on first use; for hot paths
  // that observe many times per RPC (e.g. each step of a stream).
  prometheus::Histogram& Latency(std::string_view method)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  prometheus::Family<prometheus::Histogram>& latency_family_;
  prometheus::Family<prometheus::Counter>& requests_family_;
  absl::Mutex mu_;
  // Caches of family members, keyed by method and by "method/code".
  absl::flat_hash_map<std::string, prometheus::Histogram*> latency_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Counter*> requests_
      ABSL_GUARDED_BY(mu_);
};

// Observes one RPC into `metrics` when destroyed: latency since construction
// and the code set with set_code() / Finish() (UNKNOWN if never set).
//
//   grpc::Status Handler(...) {
//     RpcTimer timer(&metrics_, "Step");
//     return timer.Finish(ToGrpcStatus(DoStep(...)));
//   }
class RpcTimer {
 public:
  // `metrics` is borrowed and must outlive the timer; nullptr disables it.
  RpcTimer(RpcMetrics* metrics, std::string_view method);
  ~RpcTimer();
  RpcTimer(const RpcTimer&) = delete;
  RpcTimer& operator=(const RpcTimer&) = delete;

  void set_code(grpc::StatusCode code) { code_ = code; }
  // Records the status code and passes the status through.
  grpc::Status Finish(grpc::Status status) {
    code_ = status.error_code();
    return status;
  }

 private:
  RpcMetrics* metrics_;
  std::string_view method_;
  absl::Time start_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_METRICS_H_
