#include "services/common/metrics.h"

#include <prometheus/counter.h>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ad::services {
namespace {

// Debian's Abseil is built without std::string_view aliasing.
absl::string_view Sv(std::string_view s) { return {s.data(), s.size()}; }

// Canonical upper-case names of grpc status codes, as in the gRPC docs.
const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "OTHER";
  }
}

}  // namespace

std::string MetricName(std::string_view service, std::string_view what,
                       std::string_view unit) {
  CHECK(!service.empty() && !what.empty())
      << "MetricName needs a service and a what";
  if (unit.empty()) return absl::StrCat("ad_", Sv(service), "_", Sv(what));
  return absl::StrCat("ad_", Sv(service), "_", Sv(what), "_", Sv(unit));
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* const kBuckets = [] {
    auto* buckets = new prometheus::Histogram::BucketBoundaries;
    for (double b = 50e-6; b < 30.0; b *= 2) buckets->push_back(b);
    return buckets;
  }();
  return *kBuckets;
}

prometheus::Counter& AddCounter(prometheus::Registry& registry,
                                const std::string& name,
                                const std::string& help) {
  return prometheus::BuildCounter()
      .Name(name)
      .Help(help)
      .Register(registry)
      .Add({});
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry,
                            const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add(
      {});
}

prometheus::Histogram& AddHistogram(
    prometheus::Registry& registry, const std::string& name,
    const std::string& help,
    const prometheus::Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(registry)
      .Add({}, buckets);
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry, std::string_view service)
    : latency_family_(prometheus::BuildHistogram()
                          .Name(MetricName(service, "rpc_latency", "seconds"))
                          .Help("Latency of each RPC (or stream message), by "
                                "method, in seconds")
                          .Register(registry)),
      requests_family_(prometheus::BuildCounter()
                           .Name(MetricName(service, "rpc_requests", "total"))
                           .Help("RPCs finished, by method and status code")
                           .Register(registry)) {}

prometheus::Histogram& RpcMetrics::Latency(std::string_view method) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = latency_.try_emplace(Sv(method), nullptr);
  if (inserted) {
    it->second = &latency_family_.Add({{"method", std::string(method)}},
                                      LatencyBuckets());
  }
  return *it->second;
}

void RpcMetrics::Observe(std::string_view method, grpc::StatusCode code,
                         absl::Duration latency) {
  Latency(method).Observe(absl::ToDoubleSeconds(latency));
  prometheus::Counter* counter;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] =
        requests_.try_emplace(absl::StrCat(Sv(method), "/", CodeName(code)));
    if (inserted) {
      it->second = &requests_family_.Add(
          {{"method", std::string(method)}, {"code", CodeName(code)}});
    }
    counter = it->second;
  }
  counter->Increment();
}

RpcTimer::RpcTimer(RpcMetrics* metrics, std::string_view method)
    : metrics_(metrics), method_(method), start_(absl::Now()) {}

RpcTimer::~RpcTimer() {
  if (metrics_ != nullptr) {
    metrics_->Observe(method_, code_, absl::Now() - start_);
  }
}

}  // namespace ad::services
