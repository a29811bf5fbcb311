#include "services/common/security_flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "glog/logging.h"

ABSL_FLAG(std::string, tls_cert, "",
          "Server TLS certificate chain (PEM file); turns TLS on");
ABSL_FLAG(std::string, tls_key, "", "Server TLS private key (PEM file)");
ABSL_FLAG(std::string, tls_ca, "",
          "CA certificate (PEM file). Server: client certificates must be "
          "signed by it (mutual TLS). Client: verifies the server; turns TLS "
          "on");
ABSL_FLAG(std::string, tls_client_cert, "",
          "Client certificate (PEM file) shown to a mutual-TLS server");
ABSL_FLAG(std::string, tls_client_key, "",
          "Client private key (PEM file) for --tls_client_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "Client: name expected in the server certificate (default: the "
          "host of the address)");
ABSL_FLAG(std::string, auth_token_file, "",
          "File holding the bearer token. Server: calls without "
          "'authorization: Bearer <token>' get UNAUTHENTICATED. Client: sent "
          "on every call. Needs TLS");

namespace ad::services {

SecurityOptions SecurityOptionsFromFlags() {
  SecurityOptions options;
  options.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.key_file = absl::GetFlag(FLAGS_tls_key);
  options.ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.client_cert_file = absl::GetFlag(FLAGS_tls_client_cert);
  options.client_key_file = absl::GetFlag(FLAGS_tls_client_key);
  options.server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.token_file = absl::GetFlag(FLAGS_auth_token_file);
  return options;
}

void InstallSecurityFromFlagsOrExit(SecurityRole role) {
  const absl::Status status = InstallSecurity(SecurityOptionsFromFlags(), role);
  if (!status.ok()) {
    LOG(ERROR) << status;
    std::exit(2);
  }
}

}  // namespace ad::services
