// TLS and bearer-token authentication for every server and client of the
// system, configured once per process.
//
// A binary's main() calls InstallSecurityFromFlagsOrExit (security_flags.h)
// once after parsing flags; from then on Server::Start (server.h) listens with
// the installed server credentials and MakeChannel (client.h) builds channels
// with the installed channel credentials. Nothing is installed by default: a
// process that never calls Install* serves and calls in plaintext, as before.
//
// Server side:
//   cert_file + key_file   TLS with this certificate (PEM) and key (PEM).
//   ca_file                clients must present a certificate signed by this
//                          CA (mutual TLS); without it no client certificate
//                          is asked for.
//   token_file             every RPC must carry `authorization: Bearer
//                          <token>`; missing or wrong ones are rejected with
//                          UNAUTHENTICATED (constant-time compare). Health
//                          checks and reflection need the token too. Needs TLS.
// Client side:
//   ca_file                TLS, verifying the server against this CA.
//   client_cert_file + client_key_file
//                          the certificate shown to an mTLS server.
//   token_file             sent as `authorization: Bearer <token>` on every
//                          call. Needs TLS (gRPC never sends a token in
//                          plaintext).
//   server_name            the name checked against the server certificate
//                          instead of the host in the address.
//
// A binary that both serves and calls (ad-learner, ad-evaluator) uses
// ca_file for both: with it set, its own server requires client certificates
// too, so give it client_cert_file / client_key_file as well; a token there
// needs both cert_file and ca_file. The deployment recipes (README.md "TLS
// and authentication") therefore turn on mutual TLS everywhere.
//
// The Prometheus /metrics endpoint (metrics_http.h) stays plaintext HTTP
// without a token.
//
// Files are read once, at Install time; a missing, unreadable or malformed
// file is INVALID_ARGUMENT naming the flag and the path.
#ifndef AD_SERVICES_COMMON_SECURITY_H_
#define AD_SERVICES_COMMON_SECURITY_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ad::services {

// Which sides of the process the options configure. Flags a side does not use
// are ignored.
enum class SecurityRole { kServer, kClient, kServerAndClient };

// Paths of PEM files and the token file; empty means "not given". Each
// comment names the flag that fills it (security_flags.h).
struct SecurityOptions {
  std::string cert_file;         // --tls_cert: server certificate chain
  std::string key_file;          // --tls_key: server private key
  std::string ca_file;           // --tls_ca: CA (server: of clients; client:
                                 // of servers)
  std::string client_cert_file;  // --tls_client_cert: client certificate
  std::string client_key_file;   // --tls_client_key: client private key
  std::string token_file;        // --auth_token_file: bearer token
  std::string server_name;       // --tls_server_name: expected server name

  // INVALID_ARGUMENT naming the flags for inconsistent combinations (a cert
  // without its key, a token without TLS, ...). Does not read files.
  absl::Status Validate(SecurityRole role) const;
};

// What MakeChannel needs: credentials plus the server name override.
struct ClientSecurity {
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // never null
  std::string server_name;  // "" checks the host of the address
  bool tls = false;         // false: plaintext
};

// Builds server credentials from the options (insecure when no cert_file).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options);

// Builds client credentials from the options (insecure when no ca_file).
absl::StatusOr<ClientSecurity> MakeClientSecurity(
    const SecurityOptions& options);

// Validates, reads the files and installs the result as the process's
// credentials for the given role (the other side stays as it was). May be
// called again (tests switch identities); affects servers started and
// channels made afterwards.
absl::Status InstallSecurity(const SecurityOptions& options, SecurityRole role);

// Undoes InstallSecurity: both sides back to plaintext.
void ResetSecurity();

// The installed server credentials (insecure if none were installed).
std::shared_ptr<grpc::ServerCredentials> InstalledServerCredentials();

// The installed client security (insecure if none was installed).
ClientSecurity InstalledClientSecurity();

// True iff `a` == `b`; the time taken depends only on the lengths, not on
// where the strings differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_SECURITY_H_
