// The request side of MetricsHttpServer (metrics_http.h) as pure functions
// over bytes: finding the end of a request header as it arrives, and routing
// its request line. No sockets and no state, so they are unit-tested and
// fuzzed (fuzz/metrics_http_fuzz.cc) on their own.
//
// The subset of HTTP/1.1 understood: a request line `METHOD SP TARGET SP
// HTTP/...` ended by CRLF or a bare LF (hand-typed requests), header fields
// that are skipped, and a blank line. Only `GET /metrics[?query]` is served.
#ifndef AD_SERVICES_COMMON_HTTP_REQUEST_H_
#define AD_SERVICES_COMMON_HTTP_REQUEST_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace ad::services {

// What the bytes received so far on a connection amount to.
struct HeaderScan {
  enum class Kind {
    kIncomplete,  // no blank line yet and still within the limit: read more
    kComplete,    // the header is in[0, end)
    kTooLarge,    // over max_header_bytes without a complete header: 431
  };
  Kind kind = Kind::kIncomplete;
  size_t end = 0;  // with kComplete: offset just past the blank line
};

// Where the header's terminating blank line ("\r\n\r\n" or "\n\n", whichever
// comes first) ends in `in`, or npos if it has not arrived.
size_t HttpHeaderEnd(absl::string_view in);

// Classifies `in`, the bytes received so far: a header ending at or before
// max_header_bytes is complete; more bytes than that without one is too
// large; anything else is incomplete.
HeaderScan ScanRequestHeader(absl::string_view in, size_t max_header_bytes);

// How a complete request header (from ScanRequestHeader) is answered.
enum class MetricsRoute {
  kBadRequest,        // 400: request line is not three non-empty words
                      // ending in HTTP/...
  kMethodNotAllowed,  // 405: a method other than GET
  kNotFound,          // 404: a target other than /metrics or /metrics?...
  kMetrics,           // 200: the exposition
};

MetricsRoute RouteMetricsRequest(absl::string_view header);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_HTTP_REQUEST_H_
