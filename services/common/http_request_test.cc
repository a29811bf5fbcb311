#include "services/common/http_request.h"

#include <string>

#include "gtest/gtest.h"

namespace ad::services {
namespace {

TEST(HttpHeaderEndTest, FindsCrlfAndBareLfBlankLines) {
  EXPECT_EQ(HttpHeaderEnd("GET / HTTP/1.1\r\nHost: x\r\n\r\nrest"), 27u);
  EXPECT_EQ(HttpHeaderEnd("GET / HTTP/1.1\n\nrest"), 16u);
  EXPECT_EQ(HttpHeaderEnd("GET / HTTP/1.1\r\nHost: x\r\n"),
            absl::string_view::npos);
  EXPECT_EQ(HttpHeaderEnd(""), absl::string_view::npos);
}

TEST(HttpHeaderEndTest, TheEarlierOfTheTwoTerminatorsWins) {
  // "\n\n" at 1 comes before "\r\n\r\n" at 4.
  EXPECT_EQ(HttpHeaderEnd("a\n\nb\r\n\r\n"), 3u);
  // "\r\n\r\n" at 1 comes before "\n\n" at 6.
  EXPECT_EQ(HttpHeaderEnd("a\r\n\r\nb\n\n"), 5u);
}

TEST(ScanRequestHeaderTest, CompleteIncompleteAndTooLarge) {
  const std::string request = "GET /metrics HTTP/1.1\r\n\r\n";
  HeaderScan scan = ScanRequestHeader(request, /*max_header_bytes=*/64);
  EXPECT_EQ(scan.kind, HeaderScan::Kind::kComplete);
  EXPECT_EQ(scan.end, request.size());

  scan = ScanRequestHeader("GET /metrics HTTP/1.1\r\n", 64);
  EXPECT_EQ(scan.kind, HeaderScan::Kind::kIncomplete);

  // A header ending exactly at the limit is complete; one byte more is not.
  scan = ScanRequestHeader(request, request.size());
  EXPECT_EQ(scan.kind, HeaderScan::Kind::kComplete);
  scan = ScanRequestHeader(request, request.size() - 1);
  EXPECT_EQ(scan.kind, HeaderScan::Kind::kTooLarge);

  scan = ScanRequestHeader(std::string(65, 'a'), 64);
  EXPECT_EQ(scan.kind, HeaderScan::Kind::kTooLarge);
  scan = ScanRequestHeader(std::string(64, 'a'), 64);
  EXPECT_EQ(scan.kind, HeaderScan::Kind::kIncomplete);
}

TEST(RouteMetricsRequestTest, RoutesTheRequestLine) {
  EXPECT_EQ(RouteMetricsRequest("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            MetricsRoute::kMetrics);
  EXPECT_EQ(RouteMetricsRequest("GET /metrics?name[]=x HTTP/1.0\n\n"),
            MetricsRoute::kMetrics);
  EXPECT_EQ(RouteMetricsRequest("POST /metrics HTTP/1.1\r\n\r\n"),
            MetricsRoute::kMethodNotAllowed);
  EXPECT_EQ(RouteMetricsRequest("GET /other HTTP/1.1\r\n\r\n"),
            MetricsRoute::kNotFound);
  EXPECT_EQ(RouteMetricsRequest("GET /metricsx HTTP/1.1\r\n\r\n"),
            MetricsRoute::kNotFound);
  EXPECT_EQ(RouteMetricsRequest("GET  /metrics HTTP/1.1\r\n\r\n"),
            MetricsRoute::kBadRequest);
  EXPECT_EQ(RouteMetricsRequest("GET /metrics FTP/1.1\r\n\r\n"),
            MetricsRoute::kBadRequest);
  EXPECT_EQ(RouteMetricsRequest("garbage\r\n\r\n"), MetricsRoute::kBadRequest);
  EXPECT_EQ(RouteMetricsRequest(""), MetricsRoute::kBadRequest);
  EXPECT_EQ(
      RouteMetricsRequest(absl::string_view("GET\0/metrics HTTP/1.1", 21)),
      MetricsRoute::kBadRequest);
}

}  // namespace
}  // namespace ad::services
