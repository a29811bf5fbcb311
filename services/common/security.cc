#include "services/common/security.h"

#include <grpcpp/security/auth_metadata_processor.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace ad::services {

namespace {

constexpr char kBearerPrefix[] = "Bearer ";

// The file's bytes, or INVALID_ARGUMENT naming `flag` and `path`.
absl::StatusOr<std::string> ReadWholeFile(absl::string_view flag,
                                          const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, "=", path, ": cannot open the file (missing or unreadable)"));
  }
  std::stringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "=", path, ": read error"));
  }
  return contents.str();
}

// A PEM file that must hold a block whose BEGIN line contains `kind`
// ("CERTIFICATE", "PRIVATE KEY").
absl::StatusOr<std::string> ReadPem(absl::string_view flag,
                                    const std::string& path,
                                    absl::string_view kind) {
  absl::StatusOr<std::string> pem = ReadWholeFile(flag, path);
  if (!pem.ok()) return pem.status();
  const size_t begin = pem->find("-----BEGIN ");
  const size_t line_end =
      begin == std::string::npos ? std::string::npos : pem->find('\n', begin);
  if (begin == std::string::npos ||
      !absl::StrContains(
          absl::string_view(*pem).substr(begin, line_end - begin), kind)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, "=", path, ": not a PEM file with a ", kind, " block"));
  }
  return pem;
}

// The token: the file's contents without surrounding whitespace; non-empty
// and printable ASCII without spaces (it travels in an HTTP/2 header).
absl::StatusOr<std::string> ReadToken(const std::string& path) {
  absl::StatusOr<std::string> raw = ReadWholeFile("--auth_token_file", path);
  if (!raw.ok()) return raw.status();
  const std::string token(absl::StripAsciiWhitespace(*raw));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_token_file=", path, ": the token is empty"));
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth_token_file=", path,
                       ": the token must be printable ASCII without spaces"));
    }
  }
  return token;
}

// Rejects every call whose `authorization` metadata is not exactly
// "Bearer <token>". Runs inline on gRPC's thread (IsBlocking() is false):
// it only compares strings.
class BearerTokenProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit BearerTokenProcessor(const std::string& token)
      : expected_(absl::StrCat(kBearerPrefix, token)) {}

  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* /*context*/,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* /*response_metadata*/) override {
    auto it = auth_metadata.find("authorization");
    if (it == auth_metadata.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing 'authorization: Bearer <token>' metadata");
    }
    const absl::string_view given(it->second.data(), it->second.size());
    if (!ConstantTimeEquals(given, expected_)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "wrong bearer token");
    }
    // Handlers never see the token.
    consumed_auth_metadata->insert(std::make_pair(
        std::string(it->first.data(), it->first.size()), std::string(given)));
    return grpc::Status::OK;
  }

 private:
  const std::string expected_;
};

struct InstalledSecurity {
  absl::Mutex mu;
  std::shared_ptr<grpc::ServerCredentials> server ABSL_GUARDED_BY(mu);
  std::shared_ptr<grpc::ChannelCredentials> client ABSL_GUARDED_BY(mu);
  std::string server_name ABSL_GUARDED_BY(mu);
  bool tls ABSL_GUARDED_BY(mu) = false;
};

InstalledSecurity& Installed() {
  static auto* installed = new InstalledSecurity;
  return *installed;
}

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Walks all of `b` whatever `a` holds; no early exit on a mismatch.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

absl::Status SecurityOptions::Validate(SecurityRole role) const {
  const bool server = role != SecurityRole::kClient;
  const bool client = role != SecurityRole::kServer;
  if (server) {
    if (cert_file.empty() != key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_cert and --tls_key must be given together");
    }
    if (cert_file.empty() && !token_file.empty()) {
      return absl::InvalidArgumentError(
          "--auth_token_file needs TLS on the server: set --tls_cert and "
          "--tls_key (gRPC never sends a token in plaintext)");
    }
    if (cert_file.empty() && !ca_file.empty() && !client) {
      return absl::InvalidArgumentError(
          "--tls_ca on a server checks client certificates and needs TLS: "
          "set --tls_cert and --tls_key");
    }
  }
  if (client) {
    if (client_cert_file.empty() != client_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_cert and --tls_client_key must be given together");
    }
    if (ca_file.empty() && !client_cert_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_cert needs --tls_ca (the CA that signed the server's "
          "certificate)");
    }
    if (ca_file.empty() && !token_file.empty()) {
      return absl::InvalidArgumentError(
          "--auth_token_file needs TLS: set --tls_ca (gRPC never sends a "
          "token in plaintext)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const SecurityOptions& options) {
  if (options.cert_file.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      options.ca_file.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  absl::StatusOr<std::string> cert =
      ReadPem("--tls_cert", options.cert_file, "CERTIFICATE");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key =
      ReadPem("--tls_key", options.key_file, "PRIVATE KEY");
  if (!key.ok()) return key.status();
  pair.cert_chain = *std::move(cert);
  pair.private_key = *std::move(key);
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPem("--tls_ca", options.ca_file, "CERTIFICATE");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::SslServerCredentials(ssl);
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadToken(options.token_file);
    if (!token.ok()) return token.status();
    credentials->SetAuthMetadataProcessor(
        std::make_shared<BearerTokenProcessor>(*token));
  }
  return credentials;
}

absl::StatusOr<ClientSecurity> MakeClientSecurity(
    const SecurityOptions& options) {
  ClientSecurity security;
  if (options.ca_file.empty()) {
    security.credentials = grpc::InsecureChannelCredentials();
    return security;
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca =
      ReadPem("--tls_ca", options.ca_file, "CERTIFICATE");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!options.client_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPem("--tls_client_cert", options.client_cert_file, "CERTIFICATE");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadPem("--tls_client_key", options.client_key_file, "PRIVATE KEY");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  security.credentials = grpc::SslCredentials(ssl);
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadToken(options.token_file);
    if (!token.ok()) return token.status();
    // Adds "authorization: Bearer <token>" to every call.
    security.credentials = grpc::CompositeChannelCredentials(
        security.credentials, grpc::AccessTokenCredentials(*token));
  }
  security.server_name = options.server_name;
  security.tls = true;
  return security;
}

absl::Status InstallSecurity(const SecurityOptions& options,
                             SecurityRole role) {
  if (absl::Status valid = options.Validate(role); !valid.ok()) return valid;
  std::shared_ptr<grpc::ServerCredentials> server;
  ClientSecurity client;
  if (role != SecurityRole::kClient) {
    auto made = MakeServerCredentials(options);
    if (!made.ok()) return made.status();
    server = *std::move(made);
  }
  if (role != SecurityRole::kServer) {
    auto made = MakeClientSecurity(options);
    if (!made.ok()) return made.status();
    client = *std::move(made);
  }
  InstalledSecurity& installed = Installed();
  absl::MutexLock lock(&installed.mu);
  if (server != nullptr) installed.server = std::move(server);
  if (client.credentials != nullptr) {
    installed.client = std::move(client.credentials);
    installed.server_name = std::move(client.server_name);
    installed.tls = client.tls;
  }
  return absl::OkStatus();
}

void ResetSecurity() {
  InstalledSecurity& installed = Installed();
  absl::MutexLock lock(&installed.mu);
  installed.server = nullptr;
  installed.client = nullptr;
  installed.server_name.clear();
  installed.tls = false;
}

std::shared_ptr<grpc::ServerCredentials> InstalledServerCredentials() {
  InstalledSecurity& installed = Installed();
  absl::MutexLock lock(&installed.mu);
  if (installed.server == nullptr) return grpc::InsecureServerCredentials();
  return installed.server;
}

ClientSecurity InstalledClientSecurity() {
  InstalledSecurity& installed = Installed();
  absl::MutexLock lock(&installed.mu);
  ClientSecurity security;
  security.credentials = installed.client != nullptr
                             ? installed.client
                             : grpc::InsecureChannelCredentials();
  security.server_name = installed.server_name;
  security.tls = installed.tls;
  return security;
}

}  // namespace ad::services
