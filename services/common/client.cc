#include "services/common/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/slice.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/text_escape.h"
#include "glog/logging.h"
#include "services/common/security.h"
#include "services/common/status_convert.h"

namespace ad::services {

absl::Status ChannelOptions::Validate() const {
  if (max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("ChannelOptions.max_message_bytes must be >= 1024, got ",
                     max_message_bytes));
  }
  if (keepalive < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ChannelOptions.keepalive must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateAddress(absl::string_view address,
                             absl::string_view what) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", BoundedEcho(address), "' is not a valid address: ", why,
        " (want host:port, e.g. 127.0.0.1:50052)"));
  };
  if (absl::StartsWith(address, "unix:") ||
      absl::StartsWith(address, "unix-abstract:")) {
    if (address.substr(address.find(':') + 1).empty()) {
      return bad("empty socket path");
    }
    return absl::OkStatus();
  }
  absl::string_view rest = address;
  absl::ConsumePrefix(&rest, "dns:///");
  if (rest.empty()) return bad("it is empty");
  absl::string_view host;
  absl::string_view port;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos || close == 1) {
      return bad("an IPv6 host needs its closing ']'");
    }
    host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':') {
      return bad("no ':port' after the host");
    }
    port = rest.substr(close + 2);
    for (char c : host) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' &&
          c != '.') {
        return bad(
            "the IPv6 host has a character other than hex digits, "
            "':' and '.'");
      }
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return bad("no ':port'");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.empty()) return bad("the host is empty");
    if (absl::StrContains(host, ':')) {
      return bad("an IPv6 host goes in brackets, e.g. [::1]:50052");
    }
    for (char c : host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
          c != '-' && c != '_') {
        return bad(
            "the host has a character other than letters, digits, "
            "'.', '-' and '_'");
      }
    }
  }
  if (port.empty()) return bad("the port is empty");
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      })) {
    return bad("the port must be a decimal number in [1, 65535]");
  }
  int number = 0;
  if (!absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return bad(absl::StrCat("port ", port, " is outside [1, 65535]"));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options) {
  const absl::Status valid = options.Validate();
  CHECK(valid.ok()) << valid;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.keepalive > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive)));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  }
  if (!options.bdp_probe) args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  // Plaintext unless a main() installed TLS (security.h).
  ClientSecurity security = InstalledClientSecurity();
  if (!security.server_name.empty()) {
    args.SetSslTargetNameOverride(security.server_name);
  }
  return grpc::CreateCustomChannel(address, security.credentials, args);
}

absl::Status WaitForConnected(grpc::Channel& channel, absl::Duration timeout) {
  if (channel.WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "channel not connected after ", absl::FormatDuration(timeout)));
}

absl::Status CheckReachable(grpc::Channel& channel, absl::string_view address,
                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      return absl::UnavailableError(absl::StrCat(
          "nothing answers at ", address,
          " (connection refused, host unreachable or name not resolved; is "
          "the server running?",
          InstalledClientSecurity().tls
              ? " Or did the TLS handshake fail? Check "
                "--tls_ca, --tls_client_cert and the "
                "server's certificate"
              : "",
          ")"));
    }
    // Wakes when the channel's state changes (a connection attempt ended)
    // or at the deadline.
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return absl::UnavailableError(
          absl::StrCat("nothing answers at ", address, " within ",
                       absl::FormatDuration(timeout)));
    }
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

namespace {

// Protobuf wire encoding of the two tiny grpc.health.v1 messages, so that no
// generated health stubs are needed: HealthCheckRequest{string service = 1}
// and HealthCheckResponse{ServingStatus status = 1}.
std::string EncodeHealthRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(0x0A);  // field 1, length-delimited
  for (uint64_t n = service.size(); true; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
  }
  return out + service;
}

// The `status` field of an encoded HealthCheckResponse (0 = UNKNOWN when
// absent), or -1 if the bytes are not what the health service sends.
int DecodeHealthStatus(const std::string& bytes) {
  if (bytes.empty()) return 0;
  if (bytes.size() < 2 || bytes[0] != 0x08) return -1;
  return static_cast<unsigned char>(bytes[1]) & 0x7F;
}

}  // namespace

absl::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service, absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  const std::string encoded = EncodeHealthRequest(service);
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status rpc_status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status status) {
                   rpc_status = std::move(status);
                   done.Notify();
                 });
  // The call's deadline bounds this wait.
  done.WaitForNotification();
  if (!rpc_status.ok()) return FromGrpcStatus(rpc_status);
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) {
    return absl::InternalError("health check: unreadable response");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  const int status = DecodeHealthStatus(bytes);
  if (status == 1) return absl::OkStatus();  // SERVING
  return absl::UnavailableError(absl::StrCat(
      "health check of '", service, "': status ", status, " is not SERVING"));
}

absl::Status BackoffOptions::Validate() const {
  if (initial <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("BackoffOptions.initial must be > 0");
  }
  if (multiplier < 1.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BackoffOptions.multiplier must be >= 1, got ", multiplier));
  }
  if (max_backoff < initial) {
    return absl::InvalidArgumentError(
        "BackoffOptions.max_backoff must be >= initial");
  }
  if (max_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "BackoffOptions.max_attempts must be >= 1, got ", max_attempts));
  }
  if (total < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("BackoffOptions.total must be >= 0");
  }
  if (jitter < 0.0 || jitter >= 1.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("BackoffOptions.jitter must be in [0, 1), got ", jitter));
  }
  return absl::OkStatus();
}

absl::Duration BackoffDelay(const BackoffOptions& options, int retry) {
  static absl::Mutex mu(absl::kConstInit);
  static absl::BitGen* gen ABSL_GUARDED_BY(mu) = nullptr;
  double scale;
  {
    absl::MutexLock lock(&mu);
    if (gen == nullptr) gen = new absl::BitGen();
    scale = absl::Uniform<double>(absl::IntervalClosedClosed, *gen,
                                  1.0 - options.jitter, 1.0 + options.jitter);
  }
  // Past 60 doublings every sane schedule sits at its cap.
  scale *= std::pow(options.multiplier, std::clamp(retry, 0, 60));
  return std::min(options.initial * scale, options.max_backoff);
}

absl::Status RetryWithBackoff(const BackoffOptions& options,
                              absl::FunctionRef<absl::Status()> attempt) {
  if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
  const absl::Time deadline = absl::Now() + options.total;
  for (int n = 1;; ++n) {
    absl::Status status = attempt();
    if (!absl::IsUnavailable(status)) return status;
    const absl::Duration sleep = BackoffDelay(options, n - 1);
    if (n >= options.max_attempts || absl::Now() + sleep > deadline) {
      return absl::UnavailableError(
          absl::StrCat(status.message(), " (after ", n, " attempts)"));
    }
    VLOG(1) << "attempt " << n << " UNAVAILABLE (" << status.message()
            << "), retrying in " << absl::FormatDuration(sleep);
    absl::SleepFor(sleep);
  }
}

absl::Status UnaryClientOptions::Validate() const {
  if (address.empty()) return absl::InvalidArgumentError("address is empty");
  if (rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("rpc_timeout must be positive");
  }
  if (absl::Status valid = backoff.Validate(); !valid.ok()) return valid;
  return channel.Validate();
}

absl::Status CallWithRetry(
    const UnaryClientOptions& options, const char* method, bool retry,
    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call) {
  auto attempt = [&]() -> absl::Status {
    grpc::ClientContext context;
    SetDeadline(context, options.rpc_timeout);
    absl::Status status = FromGrpcStatus(call(&context));
    if (status.ok()) return status;
    return absl::Status(
        status.code(),
        absl::StrCat(method, " on ", options.address, ": ", status.message()));
  };
  if (!retry) return attempt();
  return RetryWithBackoff(options.backoff, attempt);
}

}  // namespace ad::services
