#include "services/common/http_request.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace ad::services {

size_t HttpHeaderEnd(absl::string_view in) {
  const size_t crlf = in.find("\r\n\r\n");
  const size_t lf = in.find("\n\n");
  if (crlf == absl::string_view::npos && lf == absl::string_view::npos) {
    return absl::string_view::npos;
  }
  if (lf == absl::string_view::npos ||
      (crlf != absl::string_view::npos && crlf < lf)) {
    return crlf + 4;
  }
  return lf + 2;
}

HeaderScan ScanRequestHeader(absl::string_view in, size_t max_header_bytes) {
  HeaderScan scan;
  const size_t end = HttpHeaderEnd(in);
  if (end != absl::string_view::npos && end <= max_header_bytes) {
    scan.kind = HeaderScan::Kind::kComplete;
    scan.end = end;
  } else if (in.size() > max_header_bytes) {
    scan.kind = HeaderScan::Kind::kTooLarge;
  }
  return scan;
}

MetricsRoute RouteMetricsRequest(absl::string_view header) {
  absl::string_view line = header.substr(0, header.find('\n'));
  if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !absl::StartsWith(parts[2], "HTTP/")) {
    return MetricsRoute::kBadRequest;
  }
  if (parts[0] != "GET") return MetricsRoute::kMethodNotAllowed;
  if (parts[1] != "/metrics" && !absl::StartsWith(parts[1], "/metrics?")) {
    return MetricsRoute::kNotFound;
  }
  return MetricsRoute::kMetrics;
}

}  // namespace ad::services
