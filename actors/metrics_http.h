// MetricsHttpServer: serves one prometheus::Registry as /metrics (text
// format 0.0.4) over plain HTTP/1.0 on a loopback port.
//
// Why not prometheus::Exposer: its civetweb server fails to start
// ("null context when constructing CivetServer") in any process that links
// Debian's LibTorch 1.13 (reproduced with a ten-line program), and ad-actor
// links LibTorch for A3C and DQN. This server is deliberately tiny: one
// thread, one connection at a time, each request answered with the whole
// registry and closed.
//
// Owns its listening socket and thread; the destructor stops and joins the
// thread (it polls the socket every 100 ms, so it exits within that).
#ifndef AD_ACTORS_METRICS_HTTP_H_
#define AD_ACTORS_METRICS_HTTP_H_

#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace ad::actors {

class MetricsHttpServer {
 public:
  // Binds host:port (port 0 picks a free one). UNAVAILABLE if it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& host, int port,
      std::shared_ptr<prometheus::Registry> registry);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }

 private:
  MetricsHttpServer(int fd, int port,
                    std::shared_ptr<prometheus::Registry> registry);
  void Serve();

  const int fd_;
  const int port_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_METRICS_HTTP_H_
