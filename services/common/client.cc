#include "services/common/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/slice.h>

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "glog/logging.h"
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
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

absl::Status WaitForConnected(grpc::Channel& channel, absl::Duration timeout) {
  if (channel.WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "channel not connected after ", absl::FormatDuration(timeout)));
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

absl::Status RetryWithBackoff(const BackoffOptions& options,
                              absl::FunctionRef<absl::Status()> attempt) {
  if (absl::Status valid = options.Validate(); !valid.ok()) return valid;
  const absl::Time deadline = absl::Now() + options.total;
  std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> scale(1.0 - options.jitter,
                                               1.0 + options.jitter);
  absl::Duration backoff = options.initial;
  for (int n = 1;; ++n) {
    absl::Status status = attempt();
    if (!absl::IsUnavailable(status)) return status;
    const absl::Duration sleep =
        std::min(backoff * scale(rng), options.max_backoff);
    if (n >= options.max_attempts || absl::Now() + sleep > deadline) {
      return absl::UnavailableError(
          absl::StrCat(status.message(), " (after ", n, " attempts)"));
    }
    VLOG(1) << "attempt " << n << " UNAVAILABLE (" << status.message()
            << "), retrying in " << absl::FormatDuration(sleep);
    absl::SleepFor(sleep);
    backoff = std::min(backoff * options.multiplier, options.max_backoff);
  }
}

}  // namespace ad::services
