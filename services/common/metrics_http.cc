#include "services/common/metrics_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "glog/logging.h"
#include "services/common/http_request.h"

namespace ad::services {

// One client connection, owned by the event loop. Closes its socket.
struct MetricsHttpServer::Connection {
  enum class State {
    kReading,    // waiting for the whole request header
    kWriting,    // sending `out`
    kLingering,  // response sent, write side shut; discarding input
  };

  Connection(int fd, absl::Time now, absl::Time deadline)
      : fd(fd), accepted(now), deadline(deadline) {}
  ~Connection() { close(fd); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const int fd;
  const absl::Time accepted;
  State state = State::kReading;
  absl::Time deadline;  // of the current state; the connection closes then
  std::string in;       // request header bytes so far (kReading)
  std::string out;      // the response (kWriting)
  size_t sent = 0;      // bytes of `out` sent
  size_t drained = 0;   // bytes discarded while lingering
};

namespace {

// Bytes discarded while lingering before the connection is closed anyway.
constexpr size_t kMaxDrainBytes = size_t{1} << 20;

std::string Response(absl::string_view status, absl::string_view type,
                     absl::string_view body, absl::string_view extra = "") {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra,
                      "Connection: close\r\n\r\n", body);
}

std::string Error(absl::string_view status, absl::string_view why,
                  absl::string_view extra = "") {
  return Response(status, "text/plain", absl::StrCat(why, "\n"), extra);
}

}  // namespace

absl::Status MetricsHttpOptions::Validate() const {
  if (header_timeout <= absl::ZeroDuration() ||
      write_timeout <= absl::ZeroDuration() ||
      linger_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: header_timeout and write_timeout must be > 0 "
                     "and linger_timeout >= 0, got ",
                     absl::FormatDuration(header_timeout), ", ",
                     absl::FormatDuration(write_timeout), ", ",
                     absl::FormatDuration(linger_timeout)));
  }
  if (max_header_bytes < 64 || max_header_bytes > (size_t{1} << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: max_header_bytes must be in [64, 1 MiB], got ",
                     max_header_bytes));
  }
  if (max_connections < 1 || max_connections > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: max_connections must be in [1, 4096], got ",
                     max_connections));
  }
  if (max_response_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: max_response_bytes must be >= 1024, got ",
                     max_response_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port,
    std::shared_ptr<prometheus::Registry> registry, const Options& options) {
  if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
  const std::string address = absl::StrCat(host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port);
  if (getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found) != 0 ||
      found == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot resolve host of ", address));
  }
  int fd =
      socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool ok = fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  listen(fd, SOMAXCONN) == 0;
  freeaddrinfo(found);
  if (!ok) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", address, ": ", why));
  }
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot create an eventfd: ", why));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port =
      bound.ss_family == AF_INET6
          ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
          : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(
      fd, wake_fd, bound_port, std::move(registry), options));
}

MetricsHttpServer::MetricsHttpServer(
    int listen_fd, int wake_fd, int port,
    std::shared_ptr<prometheus::Registry> registry, const Options& options)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      registry_(std::move(registry)),
      options_(options) {
  thread_ = std::thread([this] { Serve(); });
}

MetricsHttpServer::~MetricsHttpServer() {
  const uint64_t one = 1;
  // Cannot fail short of a closed descriptor: the counter only grows by one.
  if (write(wake_fd_, &one, sizeof(one)) != sizeof(one)) {
    PLOG(ERROR) << "metrics: cannot wake the server thread";
  }
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
}

MetricsHttpServer::Counters MetricsHttpServer::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

void MetricsHttpServer::Count(uint64_t Counters::*field) {
  absl::MutexLock lock(&mu_);
  ++(counters_.*field);
}

void MetricsHttpServer::Serve() {
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<pollfd> fds;
  while (true) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    absl::Time next_deadline = absl::InfiniteFuture();
    for (const auto& connection : connections) {
      const int16_t events =
          connection->state == Connection::State::kWriting ? POLLOUT : POLLIN;
      fds.push_back({connection->fd, events, 0});
      next_deadline = std::min(next_deadline, connection->deadline);
    }
    int timeout_ms = -1;
    if (next_deadline != absl::InfiniteFuture()) {
      const absl::Duration left =
          std::max(absl::ZeroDuration(), next_deadline - absl::Now());
      timeout_ms = static_cast<int>(std::min<int64_t>(
          INT_MAX,
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)))));
    }
    // Wakes when a client socket is readable or writable (or hung up), a
    // connection arrives, the destructor writes wake_fd_, or the earliest
    // connection deadline passes.
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "metrics: poll failed; the server stops";
      return;
    }
    if (fds[0].revents != 0) return;  // the destructor; connections close

    const absl::Time now = absl::Now();
    size_t kept = 0;
    for (size_t i = 0; i < connections.size(); ++i) {
      if (Advance(*connections[i], fds[i + 2].revents, now)) {
        connections[kept++] = std::move(connections[i]);
      }
    }
    connections.resize(kept);  // closes the finished ones
    if ((fds[1].revents & POLLIN) != 0) AcceptAll(connections);
  }
}

void MetricsHttpServer::AcceptAll(
    std::vector<std::unique_ptr<Connection>>& connections) {
  // Closes the connection least worth keeping: one already answered, else
  // the one that has waited longest for its header, else the oldest.
  auto evict = [&] {
    auto rank = [](const Connection& c) {
      switch (c.state) {
        case Connection::State::kLingering:
          return 0;
        case Connection::State::kReading:
          return 1;
        case Connection::State::kWriting:
          return 2;
      }
      return 2;
    };
    auto victim =
        std::min_element(connections.begin(), connections.end(),
                         [&](const auto& a, const auto& b) {
                           return std::make_pair(rank(*a), a->accepted) <
                                  std::make_pair(rank(*b), b->accepted);
                         });
    connections.erase(victim);
    Count(&Counters::evicted);
  };
  // At most one round of max_connections accepts, so a flood of connects
  // cannot keep the loop from serving the ones it holds.
  for (int round = 0; round < options_.max_connections; ++round) {
    const int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        if (!connections.empty()) {
          evict();
          continue;
        }
        // Out of descriptors with none of ours to free: pause instead of
        // spinning on the still-readable listening socket.
        absl::SleepFor(absl::Milliseconds(50));
      }
      return;  // EAGAIN: nothing more pending
    }
    if (static_cast<int>(connections.size()) >= options_.max_connections) {
      evict();
    }
    const absl::Time now = absl::Now();
    connections.push_back(
        std::make_unique<Connection>(fd, now, now + options_.header_timeout));
    Count(&Counters::accepted);
  }
}

bool MetricsHttpServer::Advance(Connection& connection, int16_t revents,
                                absl::Time now) {
  if ((revents & (POLLERR | POLLNVAL)) != 0) return false;
  if (connection.state == Connection::State::kReading) {
    if ((revents & (POLLIN | POLLHUP)) != 0 && !ReadHeader(connection, now)) {
      return false;
    }
    if (connection.state == Connection::State::kReading) {
      if (now < connection.deadline) return true;
      Count(&Counters::header_timeouts);
      return false;
    }
    // The header is complete: try to send at once, without another poll.
  }
  if (connection.state == Connection::State::kWriting) {
    while (connection.sent < connection.out.size()) {
      const ssize_t n = send(
          connection.fd, connection.out.data() + connection.sent,
          connection.out.size() - connection.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        connection.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (now < connection.deadline) return true;
        Count(&Counters::write_timeouts);
        return false;
      }
      return false;  // peer gone
    }
    Count(&Counters::answered);
    shutdown(connection.fd, SHUT_WR);
    std::string().swap(connection.out);
    connection.state = Connection::State::kLingering;
    connection.deadline = now + options_.linger_timeout;
    return now < connection.deadline;
  }
  // kLingering: discard input until the peer closes, the linger time
  // passes or too much arrives.
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(connection.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      connection.drained += static_cast<size_t>(n);
      if (connection.drained > kMaxDrainBytes) return false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return now < connection.deadline;
    }
    return false;  // peer closed (0) or failed
  }
}

bool MetricsHttpServer::ReadHeader(Connection& connection, absl::Time now) {
  char buffer[4096];
  while (true) {
    // Never reads past max_header_bytes + 1: enough to know it is too long.
    const size_t room = options_.max_header_bytes + 1 - connection.in.size();
    const ssize_t n =
        recv(connection.fd, buffer, std::min(sizeof(buffer), room), 0);
    if (n == 0) return false;  // closed before finishing its header
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
    connection.in.append(buffer, static_cast<size_t>(n));
    const HeaderScan scan =
        ScanRequestHeader(connection.in, options_.max_header_bytes);
    if (scan.kind == HeaderScan::Kind::kComplete) {
      connection.out = Respond(connection.in.substr(0, scan.end));
    } else if (scan.kind == HeaderScan::Kind::kTooLarge) {
      Count(&Counters::rejected);
      connection.out = Error("431 Request Header Fields Too Large",
                             absl::StrCat("request header exceeds ",
                                          options_.max_header_bytes, " bytes"));
    } else {
      continue;
    }
    std::string().swap(connection.in);
    connection.state = Connection::State::kWriting;
    connection.deadline = now + options_.write_timeout;
    return true;
  }
}

std::string MetricsHttpServer::Respond(const std::string& header) {
  switch (RouteMetricsRequest(header)) {
    case MetricsRoute::kBadRequest:
      Count(&Counters::rejected);
      return Error("400 Bad Request", "malformed request line");
    case MetricsRoute::kMethodNotAllowed:
      Count(&Counters::rejected);
      return Error("405 Method Not Allowed", "only GET is served",
                   "Allow: GET\r\n");
    case MetricsRoute::kNotFound:
      Count(&Counters::rejected);
      return Error("404 Not Found", "only /metrics is served");
    case MetricsRoute::kMetrics:
      break;
  }
  const std::string body =
      prometheus::TextSerializer().Serialize(registry_->Collect());
  if (body.size() > options_.max_response_bytes) {
    Count(&Counters::rejected);
    LOG_EVERY_N(WARNING, 100)
        << "metrics: exposition of " << body.size()
        << " bytes exceeds max_response_bytes " << options_.max_response_bytes;
    return Error("500 Internal Server Error",
                 absl::StrCat("exposition exceeds ",
                              options_.max_response_bytes, " bytes"));
  }
  return Response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body);
}

}  // namespace ad::services
