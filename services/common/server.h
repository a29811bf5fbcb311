// Runs one gRPC server process the way every service of the system does:
// the given services plus grpc.health.v1 health checking and server
// reflection, a Prometheus /metrics endpoint, and a clean shutdown with a
// grace period on SIGTERM / SIGINT.
//
// Typical main():
//
//   ServerOptions options = ServerOptionsFromFlags(/*default_port=*/50051,
//                                                  /*default_metrics_port=*/9101);
//   auto registry = std::make_shared<prometheus::Registry>();
//   MyServiceImpl service(registry.get());
//   absl::Status status = RunServer(options, {&service}, registry);
//
// RunServer blocks until a signal arrives, then stops accepting RPCs, gives
// running RPCs up to `grace` to finish, cancels the rest and returns.
//
// Tests use Server directly: Server::Start with port 0 binds a free port and
// reports it (port()), Shutdown() stops it from any thread.
//
// Once bound, the server logs (glog INFO, i.e. stderr by default) one
// machine-readable line that scripts and tests can parse:
//   listening on 127.0.0.1:50051 metrics 127.0.0.1:9101
#ifndef AD_SERVICES_COMMON_SERVER_H_
#define AD_SERVICES_COMMON_SERVER_H_

#include <grpcpp/server.h>
#include <grpcpp/support/status.h>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ad::services {

class MetricsHttpServer;

struct ServerOptions {
  std::string name = "server";     // service name, for logs only
  std::string host = "127.0.0.1";  // interface for both gRPC and /metrics
  int port = 0;                    // gRPC port; 0 picks a free port
  int metrics_port = 0;  // /metrics port; 0 picks a free port, -1 disables
  absl::Duration grace = absl::Seconds(5);  // running RPCs' time to finish
  int max_message_bytes = 64 << 20;         // largest message received or sent
  int num_cqs = 0;  // gRPC sync-server completion queues; 0: gRPC default

  // INVALID_ARGUMENT naming the field if a value is out of range.
  absl::Status Validate() const;
};

// A started gRPC server (and its /metrics exposer).
//
// Owns the grpc::Server and the /metrics HTTP server (metrics_http.h); borrows
// the services, which must outlive it. Thread-safe: Shutdown() may be called
// from any thread, any number of times; Wait() blocks until Shutdown() has
// completed. The destructor shuts down with zero grace if nobody did.
class Server {
 public:
  // Builds and starts the server. `services` are borrowed. `registry` is
  // served on /metrics (it may be nullptr when metrics_port == -1).
  // UNAVAILABLE if a port cannot be bound, INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, const std::vector<grpc::Service*>& services,
      std::shared_ptr<prometheus::Registry> registry);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }                  // bound gRPC port
  int metrics_port() const { return metrics_port_; }  // -1 when disabled
  std::string address() const;  // "host:port", for clients

  // Marks the server NOT_SERVING in health, stops accepting RPCs, waits up to
  // `grace` for running RPCs and cancels the rest. Blocks until done.
  // Later calls return at once.
  void Shutdown(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until Shutdown() has completed (from another thread or a signal).
  void Wait() ABSL_LOCKS_EXCLUDED(mu_);

  grpc::Server* grpc_server() { return server_.get(); }

 private:
  Server() = default;

  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<MetricsHttpServer> exposer_;
  int port_ = 0;
  int metrics_port_ = -1;

  absl::Mutex mu_;
  bool shutdown_started_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_done_ ABSL_GUARDED_BY(mu_) = false;
};

// Calls server->Shutdown(grace) when the process gets SIGTERM or SIGINT.
//
// Signal-safe: the handler only write()s one byte to a pipe; a watcher thread
// owned by this object reads it and does the shutdown. Only one
// ShutdownOnSignal may exist at a time (dies otherwise). The destructor
// restores the previous handlers and joins the thread. `server` is borrowed.
class ShutdownOnSignal {
 public:
  ShutdownOnSignal(Server* server, absl::Duration grace);
  ~ShutdownOnSignal();
  ShutdownOnSignal(const ShutdownOnSignal&) = delete;
  ShutdownOnSignal& operator=(const ShutdownOnSignal&) = delete;

  // The signal that triggered shutdown, or 0 if none has arrived.
  int received_signal() const { return received_signal_.load(); }

 private:
  void Watch();

  Server* server_;
  absl::Duration grace_;
  int pipe_read_ = -1;
  int pipe_write_ = -1;
  std::atomic<int> received_signal_{0};
  std::thread watcher_;
};

// Start + ShutdownOnSignal + Wait: the body of a service's main(). Returns
// OK after a clean signal-triggered shutdown, or the error from Start.
absl::Status RunServer(const ServerOptions& options,
                       const std::vector<grpc::Service*>& services,
                       std::shared_ptr<prometheus::Registry> registry);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_SERVER_H_
