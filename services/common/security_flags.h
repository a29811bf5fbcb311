// Command-line flags for TLS and bearer-token authentication (security.h),
// shared by every server and client binary:
//
//   --tls_cert, --tls_key   server certificate and key (PEM); TLS on
//   --tls_ca                server: CA of client certificates, mTLS required;
//                           client: CA that verifies the server; TLS on
//   --tls_client_cert, --tls_client_key
//                           client certificate and key for an mTLS server
//   --tls_server_name       client: name expected in the server certificate
//                           (default: the host of the address)
//   --auth_token_file       server: the accepted bearer token; client: the
//                           token sent as `authorization: Bearer <token>`
//
// All empty by default: plaintext, no token, as before. A main() calls
// InstallSecurityFromFlagsOrExit once, right after absl::ParseCommandLine and
// logging setup, before it starts servers or makes channels.
#ifndef AD_SERVICES_COMMON_SECURITY_FLAGS_H_
#define AD_SERVICES_COMMON_SECURITY_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "services/common/security.h"

ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, tls_ca);
ABSL_DECLARE_FLAG(std::string, tls_client_cert);
ABSL_DECLARE_FLAG(std::string, tls_client_key);
ABSL_DECLARE_FLAG(std::string, tls_server_name);
ABSL_DECLARE_FLAG(std::string, auth_token_file);

namespace ad::services {

// SecurityOptions from the flags above.
SecurityOptions SecurityOptionsFromFlags();

// InstallSecurity(SecurityOptionsFromFlags(), role). On error logs it (it
// names the flag and the path) and exits the process with code 2, before any
// server starts or any call is made.
void InstallSecurityFromFlagsOrExit(SecurityRole role);

}  // namespace ad::services

#endif  // AD_SERVICES_COMMON_SECURITY_FLAGS_H_
