#include "services/common/server.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "services/common/metrics_http.h"
#include "services/common/security.h"

namespace ad::services {

absl::Status ServerOptions::Validate() const {
  if (host.empty()) {
    return absl::InvalidArgumentError("ServerOptions.host must not be empty");
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("ServerOptions.port must be in [0, 65535], got ", port));
  }
  if (metrics_port < -1 || metrics_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("ServerOptions.metrics_port must be -1 (off) or in "
                     "[0, 65535], got ",
                     metrics_port));
  }
  if (port != 0 && port == metrics_port) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ServerOptions.metrics_port must differ from port, both are ", port));
  }
  if (grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ServerOptions.grace must be >= 0, got ", absl::FormatDuration(grace)));
  }
  if (max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("ServerOptions.max_message_bytes must be >= 1024, got ",
                     max_message_bytes));
  }
  if (num_cqs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ServerOptions.num_cqs must be >= 0, got ", num_cqs));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, const std::vector<grpc::Service*>& services,
    std::shared_ptr<prometheus::Registry> registry) {
  if (absl::Status status = options.Validate(); !status.ok()) return status;
  if (options.metrics_port >= 0 && registry == nullptr) {
    return absl::InvalidArgumentError(
        "Server::Start: registry must be set when metrics are on");
  }
  std::unique_ptr<Server> server(new Server);
  server->options_ = options;
  server->registry_ = std::move(registry);

  // Both are process-wide switches read by the next ServerBuilder.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(options.host, ":", options.port),
                           InstalledServerCredentials(), &server->port_);
  // gRPC sets SO_REUSEPORT by default, which would let a second server
  // silently share a busy port; a busy port must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Accept the keepalive pings of client.h's channels (every 20 s) even on
  // idle streams, instead of answering them with GOAWAY.
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.num_cqs > 0) {
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS,
                                options.num_cqs);
  }
  for (grpc::Service* service : services) builder.RegisterService(service);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat(options.name, ": cannot bind gRPC on ", options.host, ":",
                     options.port, " (port in use or bad host?)"));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);

  if (options.metrics_port >= 0) {
    auto metrics = MetricsHttpServer::Start(options.host, options.metrics_port,
                                            server->registry_);
    // On failure ~Server shuts the gRPC server down.
    if (!metrics.ok()) {
      return absl::UnavailableError(
          absl::StrCat(options.name, ": ", metrics.status().message()));
    }
    server->exposer_ = std::move(*metrics);
    server->metrics_port_ = server->exposer_->port();
  }

  LOG(INFO) << options.name << " listening on " << options.host << ":"
            << server->port_ << " metrics " << options.host << ":"
            << server->metrics_port_;
  return server;
}

Server::~Server() {
  if (server_ == nullptr) return;  // Start() failed before building it
  Shutdown(absl::ZeroDuration());
  // Joins the server's threads.
  server_->Wait();
}

std::string Server::address() const {
  return absl::StrCat(options_.host, ":", port_);
}

void Server::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_started_) {
      // Wakes when the first caller has finished shutting down.
      mu_.Await(absl::Condition(&shutdown_done_));
      return;
    }
    shutdown_started_ = true;
  }
  LOG(INFO) << options_.name << " shutting down, grace "
            << absl::FormatDuration(grace);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  // civetweb polls with a 2 s quantum: stopping /metrics can take that long.
  exposer_.reset();
  LOG(INFO) << options_.name << " stopped";
  absl::MutexLock lock(&mu_);
  shutdown_done_ = true;
}

void Server::Wait() {
  absl::MutexLock lock(&mu_);
  // Wakes when Shutdown() completes.
  mu_.Await(absl::Condition(&shutdown_done_));
}

// ---------------------------------------------------------------------------
// Signals.

namespace {

// Write end of the active ShutdownOnSignal's pipe, -1 when none.
std::atomic<int> g_signal_pipe{-1};
struct sigaction g_old_term;
struct sigaction g_old_int;

constexpr char kQuitByte = 'q';

void OnSignal(int signo) {
  const int saved_errno = errno;
  const int fd = g_signal_pipe.load();
  if (fd >= 0) {
    const char byte = static_cast<char>(signo);
    // Best effort: a full pipe means a shutdown is already pending.
    [[maybe_unused]] ssize_t n = write(fd, &byte, 1);
  }
  errno = saved_errno;
}

}  // namespace

ShutdownOnSignal::ShutdownOnSignal(Server* server, absl::Duration grace)
    : server_(server), grace_(grace) {
  int fds[2];
  PCHECK(pipe2(fds, O_CLOEXEC) == 0) << "pipe2";
  pipe_read_ = fds[0];
  pipe_write_ = fds[1];
  int expected = -1;
  CHECK(g_signal_pipe.compare_exchange_strong(expected, pipe_write_))
      << "only one ShutdownOnSignal may exist at a time";
  struct sigaction action = {};
  action.sa_handler = &OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  PCHECK(sigaction(SIGTERM, &action, &g_old_term) == 0);
  PCHECK(sigaction(SIGINT, &action, &g_old_int) == 0);
  watcher_ = std::thread([this] { Watch(); });
}

ShutdownOnSignal::~ShutdownOnSignal() {
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGINT, &g_old_int, nullptr);
  g_signal_pipe.store(-1);
  const char byte = kQuitByte;
  PCHECK(write(pipe_write_, &byte, 1) == 1) << "waking the signal watcher";
  watcher_.join();
  close(pipe_read_);
  close(pipe_write_);
}

void ShutdownOnSignal::Watch() {
  while (true) {
    char byte = 0;
    const ssize_t n = read(pipe_read_, &byte, 1);  // blocks until a byte
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == kQuitByte) return;
    if (received_signal_.exchange(byte) != 0) continue;  // already stopping
    LOG(INFO) << "signal " << static_cast<int>(byte) << " (" << strsignal(byte)
              << "): shutting down";
    server_->Shutdown(grace_);
  }
}

absl::Status RunServer(const ServerOptions& options,
                       const std::vector<grpc::Service*>& services,
                       std::shared_ptr<prometheus::Registry> registry) {
  absl::StatusOr<std::unique_ptr<Server>> server =
      Server::Start(options, services, std::move(registry));
  if (!server.ok()) return server.status();
  ShutdownOnSignal on_signal(server->get(), options.grace);
  (*server)->Wait();
  return absl::OkStatus();
}

}  // namespace ad::services
