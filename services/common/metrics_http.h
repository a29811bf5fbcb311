// A small HTTP server for Prometheus scrapes: GET /metrics answers with the
// text exposition of one prometheus::Registry; another path gets 404, another
// method 405, a malformed request line 400, an oversize header 431. The
// parsing of requests is in http_request.h.
//
// Why not prometheus-cpp's Exposer: it runs on civetweb, whose worker threads
// are created with a fixed small stack; in processes that link LibTorch (a
// large static TLS block) pthread_create then fails and the Exposer cannot
// start. This server uses one default-sized thread.
//
// One slow or malicious client cannot stall scrapes for the others: the
// thread runs a poll() event loop over non-blocking sockets, so no client is
// ever waited on. Each connection gets `header_timeout` in total (not per
// read) to send its whole request header and `write_timeout` to take the
// whole response; a header longer than `max_header_bytes` is answered 431;
// at `max_connections` open connections a new one evicts the one that has
// waited longest for its header (or, when all are answering, the oldest).
// Every response ends the connection (Connection: close), after which the
// server reads and discards what the client still sends for at most
// `linger_timeout`, so the client sees the response rather than a reset.
//
// Memory is bounded by max_connections × (max_header_bytes +
// max_response_bytes); a larger exposition is answered 500.
//
// The destructor wakes and joins the thread and closes every socket.
#ifndef AD_SERVICES_COMMON_METRICS_HTTP_H_
#define AD_SERVICES_COMMON_METRICS_HTTP_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace prometheus {
class Registry;
}

namespace ad::services {

// Limits of MetricsHttpServer (below); the defaults are what every binary
// runs with. At namespace scope so it can be a default argument.
struct MetricsHttpOptions {
  // From accept until the request header's blank line has arrived, in
  // total; a client still sending then is closed without an answer.
  absl::Duration header_timeout = absl::Seconds(5);
  // From the end of the header until the whole response is sent.
  absl::Duration write_timeout = absl::Seconds(10);
  // After the response: how long input is drained before closing.
  absl::Duration linger_timeout = absl::Seconds(1);
  // Request line plus header fields, bytes; longer is answered 431.
  size_t max_header_bytes = 8 << 10;
  // Open connections; one more evicts the longest-waiting one.
  int max_connections = 64;
  // Largest response body, bytes; a larger exposition is answered 500.
  size_t max_response_bytes = size_t{16} << 20;

  absl::Status Validate() const;
};

class MetricsHttpServer {
 public:
  using Options = MetricsHttpOptions;

  // What happened to connections since Start; for tests and logs.
  struct Counters {
    uint64_t accepted = 0;
    uint64_t answered = 0;  // responses fully sent (any status)
    uint64_t header_timeouts = 0;
    uint64_t write_timeouts = 0;
    uint64_t evicted = 0;   // closed to make room at max_connections
    uint64_t rejected = 0;  // answered 4xx/5xx
  };

  // Binds host:port (port 0 picks a free one) and starts serving.
  // UNAVAILABLE naming the address if it cannot bind; INVALID_ARGUMENT if
  // `options` are invalid.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port,
      std::shared_ptr<prometheus::Registry> registry,
      const Options& options = Options());

  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  Counters counters() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Connection;

  MetricsHttpServer(int listen_fd, int wake_fd, int port,
                    std::shared_ptr<prometheus::Registry> registry,
                    const Options& options);
  // The event loop; runs on thread_ until the destructor signals wake_fd_.
  void Serve();
  // Accepts every pending connection, evicting to stay at max_connections.
  void AcceptAll(std::vector<std::unique_ptr<Connection>>& connections);
  // Advances one connection on readiness `revents`; false once it is done
  // and should be closed.
  bool Advance(Connection& connection, int16_t revents, absl::Time now);
  // Reads what is available; answers once the header is complete or too
  // long. False if the peer closed or failed.
  bool ReadHeader(Connection& connection, absl::Time now);
  // The full response (status line, headers, body) for a request header.
  std::string Respond(const std::string& header);
  void Count(uint64_t Counters::*field) ABSL_LOCKS_EXCLUDED(mu_);

  const int listen_fd_;
  const int wake_fd_;  // eventfd; written by the destructor to stop Serve
  const int port_;
  const std::shared_ptr<prometheus::Registry> registry_;
  const Options options_;

  mutable absl::Mutex mu_;
  Counters counters_ ABSL_GUARDED_BY(mu_);

  // Runs Serve; the connections live on its stack, never shared.
  std::thread thread_;
};

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_METRICS_HTTP_H_
