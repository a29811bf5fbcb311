#include "services/common/metrics.h"

#include <prometheus/text_serializer.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::services {
namespace {

using ::testing::HasSubstr;

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

TEST(MetricNameTest, FollowsTheConvention) {
  EXPECT_EQ(MetricName("env", "steps", "total"), "ad_env_steps_total");
  EXPECT_EQ(MetricName("env", "sessions_active"), "ad_env_sessions_active");
}

TEST(RpcTimerTest, ObservesLatencyAndCodePerMethod) {
  prometheus::Registry registry;
  RpcMetrics metrics(registry, "test");
  {
    RpcTimer timer(&metrics, "Step");
    timer.Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad"));
  }
  { RpcTimer timer(&metrics, "Step"); }  // never finished: UNKNOWN
  {
    RpcTimer timer(&metrics, "Reset");
    timer.set_code(grpc::StatusCode::OK);
  }
  const std::string text = Scrape(registry);
  EXPECT_THAT(text, HasSubstr("ad_test_rpc_latency_seconds_count{method="
                              "\"Step\"} 2"));
  EXPECT_THAT(text, HasSubstr("ad_test_rpc_latency_seconds_count{method="
                              "\"Reset\"} 1"));
  EXPECT_THAT(text, HasSubstr("ad_test_rpc_latency_seconds_bucket{method="
                              "\"Step\",le=\"+Inf\"} 2"));
  EXPECT_THAT(text, HasSubstr("ad_test_rpc_requests_total{code="
                              "\"INVALID_ARGUMENT\",method=\"Step\"} 1"));
  EXPECT_THAT(text, HasSubstr("ad_test_rpc_requests_total{code=\"UNKNOWN\","
                              "method=\"Step\"} 1"));
  EXPECT_THAT(text, HasSubstr("ad_test_rpc_requests_total{code=\"OK\","
                              "method=\"Reset\"} 1"));
}

TEST(MetricsTest, CounterAndGaugeHelpers) {
  prometheus::Registry registry;
  AddCounter(registry, "ad_test_steps_total", "steps").Increment(5);
  AddGauge(registry, "ad_test_sessions_active", "sessions").Set(2);
  const std::string text = Scrape(registry);
  EXPECT_THAT(text, HasSubstr("ad_test_steps_total 5"));
  EXPECT_THAT(text, HasSubstr("ad_test_sessions_active 2"));
}

}  // namespace
}  // namespace ad::services
