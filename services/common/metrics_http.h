// A minimal HTTP server for Prometheus scrapes: GET /metrics answers with the
// text exposition of one prometheus::Registry; anything else gets 404.
//
// Why not prometheus-cpp's Exposer: it runs on civetweb, whose worker threads
// are created with a fixed small stack; in processes that link LibTorch (a
// large static TLS block) pthread_create then fails and the Exposer cannot
// start. This server uses default-sized threads.
//
// One background thread accepts and answers connections one at a time (a
// scrape is a few kilobytes); each connection has a 2 s I/O timeout. The
// destructor stops the thread (within ~100 ms) and closes the socket.
#ifndef AD_SERVICES_COMMON_METRICS_HTTP_H_
#define AD_SERVICES_COMMON_METRICS_HTTP_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace prometheus {
class Registry;
}

namespace ad::services {

class MetricsHttpServer {
 public:
  // Binds host:port (port 0 picks a free one) and starts serving.
  // UNAVAILABLE naming the address if it cannot bind.
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
  void Answer(int connection);

  const int listen_fd_;
  const int port_;
  const std::shared_ptr<prometheus::Registry> registry_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_METRICS_HTTP_H_
