// Client-side helpers shared by every caller of the system's services:
// channels with the project's message-size limits, per-call deadlines, and
// retrying UNAVAILABLE with bounded exponential backoff (DESIGN.md: every RPC
// has a deadline; clients retry UNAVAILABLE with backoff).
//
// Nothing here owns threads. RetryWithBackoff sleeps on the calling thread,
// never past its total deadline.
#ifndef AD_SERVICES_COMMON_CLIENT_H_
#define AD_SERVICES_COMMON_CLIENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ad::services {

struct ChannelOptions {
  int max_message_bytes = 64 << 20;  // largest message sent or received
  // Keepalive pings so a dead peer is noticed on idle streams; 0 disables.
  absl::Duration keepalive = absl::Seconds(20);
  // HTTP/2 bandwidth-delay probing grows the flow-control window to many MB,
  // letting a server stream run far ahead of its reader. Off, the window
  // stays at 64 KiB: the learner's window stream is then sampled at the
  // pace of training.
  bool bdp_probe = true;

  absl::Status Validate() const;
};

// Checks an address a user gave (a flag) before anything connects to it:
// "host:port" with a non-empty host (a name, an IPv4 address, or an IPv6
// address in brackets: "[::1]:50052") and a decimal port in [1, 65535];
// "dns:///host:port" likewise; "unix:PATH" and "unix-abstract:NAME" as they
// are. INVALID_ARGUMENT naming `what` (e.g. "--store") and a short prefix of
// the value otherwise, e.g. for port 99999, which gRPC would otherwise take
// modulo 65536 as port 34463.
absl::Status ValidateAddress(absl::string_view address,
                             absl::string_view what = "address");

// An insecure channel to `address` ("host:port"). Does not connect yet
// (gRPC connects lazily). Dies if options are invalid (programmer error).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options = {});

// Blocks until the channel is connected or `timeout` passes
// (DEADLINE_EXCEEDED naming the address otherwise).
absl::Status WaitForConnected(grpc::Channel& channel, absl::Duration timeout);

// Connects `channel` and returns as soon as the outcome is known: OK once
// connected; UNAVAILABLE naming `address` when the first attempt fails
// (nothing listens, connection refused, name does not resolve) or nothing
// answers within `timeout`. Unlike a call that retries UNAVAILABLE with
// backoff, it does not wait out a retry schedule: tools call it first so
// that "nothing answers at ..." comes at once. Blocks at most `timeout`.
absl::Status CheckReachable(grpc::Channel& channel, absl::string_view address,
                            absl::Duration timeout);

// Sets `context`'s deadline to now + timeout.
void SetDeadline(grpc::ClientContext& context, absl::Duration timeout);

// Calls grpc.health.v1.Health/Check for `service` ("" asks about the whole
// server), with a deadline of `timeout`. OK when SERVING, UNAVAILABLE when
// the server reports any other status, otherwise the RPC's own error.
absl::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service, absl::Duration timeout);

struct BackoffOptions {
  absl::Duration initial = absl::Milliseconds(50);  // first sleep
  double multiplier = 2.0;                          // growth per attempt
  absl::Duration max_backoff = absl::Seconds(2);    // cap on one sleep
  int max_attempts = 10;                            // calls, including first
  absl::Duration total = absl::Seconds(30);  // no attempt starts after this
  double jitter = 0.2;  // each sleep is scaled by U[1-jitter, 1+jitter]

  absl::Status Validate() const;
};

// The project's one retry schedule, used by RetryWithBackoff, the store sink's
// reconnects and the learner's reopened window streams: the sleep before
// retry number `retry` (0 for the first retry) is
// min(initial * multiplier^retry * U[1 - jitter, 1 + jitter], max_backoff).
// The jitter (thread-safe, from a process-wide generator) keeps clients that
// lost the same server from coming back in lockstep. `options` must be valid.
absl::Duration BackoffDelay(const BackoffOptions& options, int retry);

// Calls `attempt` until it returns anything but UNAVAILABLE, `max_attempts`
// calls were made, or the next sleep would end past start + `total`.
// Returns the last attempt's status (an UNAVAILABLE one gets " (after N
// attempts)" appended). `attempt` should set its own per-call deadline.
// INVALID_ARGUMENT if the options are invalid (no attempt is made).
absl::Status RetryWithBackoff(const BackoffOptions& options,
                              absl::FunctionRef<absl::Status()> attempt);

// What a typed client (StoreClient, LearnerClient) is given: the server's
// address, the deadline of one unary attempt, the retry schedule and the
// channel.
struct UnaryClientOptions {
  std::string address;
  absl::Duration rpc_timeout = absl::Seconds(30);  // per attempt
  BackoffOptions backoff;                          // retries of UNAVAILABLE
  ChannelOptions channel;

  // INVALID_ARGUMENT for an empty address, a non-positive rpc_timeout, or
  // bad backoff / channel options.
  absl::Status Validate() const;
};

// One call of a typed client: `call` runs an attempt with a context whose
// deadline is now + options.rpc_timeout; retried on UNAVAILABLE with
// options.backoff when `retry`. An error is prefixed "METHOD on ADDRESS: ".
absl::Status CallWithRetry(
    const UnaryClientOptions& options, const char* method, bool retry,
    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_CLIENT_H_
