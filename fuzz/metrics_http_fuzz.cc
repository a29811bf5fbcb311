// Fuzzes the /metrics server's request parsing (services/common/
// http_request.h): the input's first two bytes pick max_header_bytes (64 to
// 8192, the default), the third the size of the reads, and the rest is what
// a client sends. The bytes are fed in as MetricsHttpServer::ReadHeader
// receives them -- appended read by read, never more than max_header_bytes +
// 1 in all -- and scanned after each read, as the server does; a complete
// header is routed.
//
// Oracles: a verdict once reached never changes as more bytes arrive; a
// complete header ends at its first blank line and within the limit; "too
// large" only past the limit; the route agrees with a plain re-reading of
// the request line.
#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "services/common/http_request.h"

namespace ad::fuzz {
namespace {

using services::HeaderScan;
using services::MetricsRoute;

// The route by a different reading of the same rules: the first line, a
// trailing CR dropped, must be "GET", " ", a target without spaces, " ",
// "HTTP/" and a version without spaces.
MetricsRoute ReferenceRoute(absl::string_view header) {
  size_t eol = header.find('\n');
  absl::string_view line = header.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t sp1 = line.find(' ');
  if (sp1 == absl::string_view::npos || sp1 == 0) {
    return MetricsRoute::kBadRequest;
  }
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos || sp2 == sp1 + 1) {
    return MetricsRoute::kBadRequest;
  }
  const absl::string_view method = line.substr(0, sp1);
  const absl::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const absl::string_view version = line.substr(sp2 + 1);
  if (version.find(' ') != absl::string_view::npos ||
      version.substr(0, 5) != "HTTP/") {
    return MetricsRoute::kBadRequest;
  }
  if (method != "GET") return MetricsRoute::kMethodNotAllowed;
  if (target == "/metrics" || target.substr(0, 9) == "/metrics?") {
    return MetricsRoute::kMetrics;
  }
  return MetricsRoute::kNotFound;
}

}  // namespace
}  // namespace ad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ad::services::HeaderScan;
  if (size < 3) return 0;
  const size_t max_header_bytes = 64 + (data[0] | (data[1] << 8)) % 8129;
  const size_t read_size = 16 + data[2];
  const absl::string_view sent(reinterpret_cast<const char*>(data + 3),
                               size - 3);

  std::string in;
  HeaderScan scan;
  size_t at = 0;
  while (at < sent.size() && scan.kind == HeaderScan::Kind::kIncomplete) {
    const size_t room = max_header_bytes + 1 - in.size();
    const size_t n = std::min({read_size, room, sent.size() - at});
    in.append(sent.substr(at, n).data(), n);
    at += n;
    scan = ad::services::ScanRequestHeader(in, max_header_bytes);
    CHECK_LE(in.size(), max_header_bytes + 1);
  }
  // A verdict, once reached, holds for every longer prefix.
  if (scan.kind != HeaderScan::Kind::kIncomplete && at < sent.size()) {
    const size_t more = std::min(sent.size(), max_header_bytes + 1);
    const HeaderScan later =
        ad::services::ScanRequestHeader(sent.substr(0, more), max_header_bytes);
    CHECK(later.kind == scan.kind);
    CHECK_EQ(later.end, scan.end);
  }
  switch (scan.kind) {
    case HeaderScan::Kind::kIncomplete:
      CHECK_LE(in.size(), max_header_bytes);
      CHECK_EQ(ad::services::HttpHeaderEnd(in), absl::string_view::npos);
      break;
    case HeaderScan::Kind::kTooLarge:
      CHECK_GT(in.size(), max_header_bytes);
      break;
    case HeaderScan::Kind::kComplete: {
      CHECK_LE(scan.end, max_header_bytes);
      CHECK_LE(scan.end, in.size());
      const absl::string_view header =
          absl::string_view(in).substr(0, scan.end);
      CHECK(absl::EndsWith(header, "\n\n") ||
            absl::EndsWith(header, "\r\n\r\n"));
      // The first blank line: none ends earlier.
      const absl::string_view before = header.substr(0, scan.end - 1);
      CHECK(before.find("\n\n") == absl::string_view::npos);
      CHECK(before.find("\r\n\r\n") == absl::string_view::npos);
      CHECK(ad::services::RouteMetricsRequest(header) ==
            ad::fuzz::ReferenceRoute(header));
      break;
    }
  }
  return 0;
}
