// TLS and bearer-token authentication end to end, with the real binaries:
// a CA, server and client certificates made with the openssl command; the
// real ad-store served with TLS + token (and, with --tls_ca, mutual TLS);
// clients configured through services/common/security.h exactly as the
// binaries' flags configure them; and one short pipeline over TLS (ad-env-
// server, ad-store, ad-actor, adctl). Skipped when openssl is not installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/security.h"
#include "services/store/store_client.h"
#include "services/store/store_sink.h"
#include "services/store/store_test_util.h"
#include "storage/test_util.h"
#include "tests/testing/subprocess.h"

namespace ad::services {
namespace {

using ad::testing::BinaryPath;
using ad::testing::PickFreePort;
using ad::testing::ReadFile;
using ad::testing::Subprocess;
using ad::testing::WaitForPort;
using ad::testing::WriteFile;
using ::testing::HasSubstr;

// Makes ca.pem, server.{pem,key} (SAN localhost, 127.0.0.1) and
// client.{pem,key} signed by the CA, a self-signed rogue.{pem,key}, plus token
// and wrong_token files, in `dir`. Returns false (output in dir/openssl.log) if
// openssl fails.
bool MakeCertificates(const std::string& dir) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'; ",
      "key() { openssl genpkey -algorithm EC -pkeyopt "
      "ec_paramgen_curve:prime256v1 -out \"$1\"; }; ",
      "key ca.key; ",
      "openssl req -x509 -new -key ca.key -out ca.pem -days 2 "
      "-subj /CN=ad-test-ca; ",
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n"
      "extendedKeyUsage=serverAuth\\n' > server.ext; ",
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext; ",
      "for who in server client; do key $who.key; ",
      "openssl req -new -key $who.key -out $who.csr -subj /CN=ad-$who; ",
      "openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -out $who.pem -days 2 -extfile $who.ext; done; ",
      "key rogue.key; openssl req -x509 -new -key rogue.key -out rogue.pem "
      "-days 2 -subj /CN=rogue; ",
      "printf 's3cret-token\\n' > token; printf 'not-the-token' > "
      "wrong_token");
  const std::string command =
      absl::StrCat("bash -c \"$(cat <<'AD_EOF'\n", script, "\nAD_EOF\n)\" > '",
                   dir, "/openssl.log' 2>&1");
  return std::system(command.c_str()) == 0;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("openssl version > /dev/null 2>&1") != 0) return;
    certs_ = new storage::testing::TempDir;
    certs_made_ = MakeCertificates(certs_->path());
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    if (certs_ == nullptr) GTEST_SKIP() << "openssl is not installed";
    ASSERT_TRUE(certs_made_) << ReadFile(Cert("openssl.log"));
  }
  void TearDown() override { ResetSecurity(); }

  static std::string Cert(const std::string& name) { return certs_->Sub(name); }

  // The server-side TLS flags, plus --tls_ca (mutual TLS) when `mtls`.
  static std::vector<std::string> ServerTlsFlags(bool mtls) {
    std::vector<std::string> flags = {"--tls_cert=" + Cert("server.pem"),
                                      "--tls_key=" + Cert("server.key"),
                                      "--auth_token_file=" + Cert("token")};
    if (mtls) flags.push_back("--tls_ca=" + Cert("ca.pem"));
    return flags;
  }

  // Client-side TLS flags: the CA and the token.
  static std::vector<std::string> ClientTlsFlags() {
    return {"--tls_ca=" + Cert("ca.pem"), "--auth_token_file=" + Cert("token")};
  }

  // Starts ad-store with TLS + token on a free port; returns the port.
  int StartStore(bool mtls, const std::string& name) {
    const int port = PickFreePort();
    std::vector<std::string> flags = {"--grace=0s"};
    for (const std::string& flag : ServerTlsFlags(mtls)) flags.push_back(flag);
    auto store = ad::testing::StartStore(dir_.Sub(name), port,
                                         dir_.Sub(name + ".log"), flags);
    CHECK(store.ok()) << store.status();
    children_.push_back(std::move(store).value());
    return port;
  }

  // Installs client security from the options (each test picks who it is).
  static void BeClient(const SecurityOptions& options) {
    ResetSecurity();
    const absl::Status status = InstallSecurity(options, SecurityRole::kClient);
    ASSERT_TRUE(status.ok()) << status;
  }

  static SecurityOptions CaAndToken(const std::string& token_file) {
    SecurityOptions options;
    options.ca_file = Cert("ca.pem");
    options.token_file = Cert(token_file);
    return options;
  }

  // Store.Stats with one attempt and a short deadline.
  static absl::Status StatsAt(int port) {
    store::StoreClient::Options options;
    options.address = absl::StrCat("127.0.0.1:", port);
    options.rpc_timeout = absl::Seconds(5);
    options.backoff.max_attempts = 1;
    auto client = store::StoreClient::Create(options);
    if (!client.ok()) return client.status();
    return (*client)->Stats().status();
  }

  // Runs a binary to completion; its exit code, output in *out.
  int Run(std::vector<std::string> argv, const std::string& name,
          std::string* out) {
    const std::string log = dir_.Sub(name + ".log");
    auto process = Subprocess::Start(argv, log);
    CHECK(process.ok()) << process.status();
    auto status = process->Wait(absl::Seconds(90));
    CHECK(status.ok()) << status.status();
    *out = ReadFile(log);
    return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  static storage::testing::TempDir* certs_;
  static bool certs_made_;
  storage::testing::TempDir dir_;
  std::vector<Subprocess> children_;
};

storage::testing::TempDir* TlsTest::certs_ = nullptr;
bool TlsTest::certs_made_ = false;

TEST_F(TlsTest, ClientWithCaAndTokenAppendsAndReadsBack) {
  const int port = StartStore(/*mtls=*/false, "store");
  BeClient(CaAndToken("token"));
  store::StoreSink::Options sink_options;
  sink_options.address = absl::StrCat("127.0.0.1:", port);
  auto sink = store::StoreSink::Create(sink_options);
  ASSERT_TRUE(sink.ok()) << sink.status();
  for (uint64_t seq = 0; seq < 2; ++seq) {
    ASSERT_TRUE((*sink)
                    ->Append(store::testing::WireMeta("tls/h0"),
                             store::testing::WireChunk(0, seq, seq * 40, 40),
                             /*last=*/seq == 1)
                    .ok());
  }
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(20)).ok());

  store::StoreClient::Options options;
  options.address = sink_options.address;
  auto client = store::StoreClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto meta = (*client)->GetHistoryMeta("tls/h0");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->length(), 80u);
}

TEST_F(TlsTest, MissingOrWrongTokenIsUnauthenticated) {
  const int port = StartStore(/*mtls=*/false, "store");
  SecurityOptions no_token;
  no_token.ca_file = Cert("ca.pem");
  BeClient(no_token);
  absl::Status status = StatsAt(port);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;

  BeClient(CaAndToken("wrong_token"));
  status = StatsAt(port);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;

  BeClient(CaAndToken("token"));
  EXPECT_TRUE(StatsAt(port).ok());
}

TEST_F(TlsTest, PlaintextClientFails) {
  const int port = StartStore(/*mtls=*/false, "store");
  ResetSecurity();
  const absl::Status status = StatsAt(port);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.code(), absl::StatusCode::kNotFound) << status;
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificate) {
  const int port = StartStore(/*mtls=*/true, "mtls_store");
  BeClient(CaAndToken("token"));
  absl::Status status = StatsAt(port);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;

  SecurityOptions with_cert = CaAndToken("token");
  with_cert.client_cert_file = Cert("client.pem");
  with_cert.client_key_file = Cert("client.key");
  BeClient(with_cert);
  status = StatsAt(port);
  EXPECT_TRUE(status.ok()) << status;

  // A self-signed client certificate the CA did not sign is refused.
  SecurityOptions rogue = CaAndToken("token");
  rogue.client_cert_file = Cert("rogue.pem");
  rogue.client_key_file = Cert("rogue.key");
  BeClient(rogue);
  status = StatsAt(port);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
}

TEST_F(TlsTest, BadFilesExitTwoNamingTheFlagAndPath) {
  std::string out;
  const std::string missing = dir_.Sub("no-such.pem");
  EXPECT_EQ(Run({BinaryPath("ad-store"), "--db=" + dir_.Sub("db"), "--port=0",
                 "--metrics_port=-1", "--tls_cert=" + missing,
                 "--tls_key=" + Cert("server.key")},
                "bad_cert", &out),
            2);
  EXPECT_THAT(out, HasSubstr("--tls_cert=" + missing));

  const std::string not_pem = dir_.Sub("token-as-key");
  WriteFile(not_pem, "hello\n");
  EXPECT_EQ(Run({BinaryPath("ad-store"), "--db=" + dir_.Sub("db"), "--port=0",
                 "--metrics_port=-1", "--tls_cert=" + Cert("server.pem"),
                 "--tls_key=" + not_pem},
                "bad_key", &out),
            2);
  EXPECT_THAT(out, HasSubstr("--tls_key=" + not_pem));

  const std::string empty_token = dir_.Sub("empty-token");
  WriteFile(empty_token, "\n");
  EXPECT_EQ(
      Run({BinaryPath("adctl"), "store", "stats", "--tls_ca=" + Cert("ca.pem"),
           "--auth_token_file=" + empty_token},
          "empty_token", &out),
      2);
  EXPECT_THAT(out, HasSubstr("--auth_token_file=" + empty_token));

  EXPECT_EQ(Run({BinaryPath("ad-actor"), "--sink=store:127.0.0.1:1",
                 "--auth_token_file=" + Cert("token")},
                "token_without_tls", &out),
            2);
  EXPECT_THAT(out, HasSubstr("--tls_ca"));
}

TEST_F(TlsTest, PipelineOverTls) {
  const int store_port = StartStore(/*mtls=*/false, "store");
  const int env_port = PickFreePort();
  std::vector<std::string> env_argv = {BinaryPath("ad-env-server"),
                                       absl::StrCat("--port=", env_port),
                                       "--metrics_port=-1", "--grace=0s"};
  for (const std::string& flag : ServerTlsFlags(/*mtls=*/false)) {
    env_argv.push_back(flag);
  }
  auto env = Subprocess::Start(env_argv, dir_.Sub("env.log"));
  ASSERT_TRUE(env.ok()) << env.status();
  children_.push_back(std::move(env).value());
  ASSERT_TRUE(WaitForPort(env_port, absl::Seconds(20)).ok())
      << ReadFile(dir_.Sub("env.log"));

  std::vector<std::string> actor_argv = {
      BinaryPath("ad-actor"),
      "--source=tabular_q",
      "--preset=test",
      "--tasks=darkroom/goal=1,2 darkroom/goal=7,7",
      "--set=tabular_q.streams=2,tabular_q.episodes=20",
      "--parallel_tasks=2",
      "--metrics_port=-1",
      absl::StrCat("--env=127.0.0.1:", env_port),
      absl::StrCat("--sink=store:127.0.0.1:", store_port)};
  for (const std::string& flag : ClientTlsFlags()) actor_argv.push_back(flag);
  std::string out;
  ASSERT_EQ(Run(actor_argv, "actor", &out), 0) << out;

  std::vector<std::string> adctl_argv = {
      BinaryPath("adctl"), "store", "stats",
      absl::StrCat("--store=127.0.0.1:", store_port)};
  for (const std::string& flag : ClientTlsFlags()) adctl_argv.push_back(flag);
  ASSERT_EQ(Run(adctl_argv, "adctl_stats", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("histories 4 (complete 4)"));
  EXPECT_THAT(out, HasSubstr("tasks 2"));

  // The same command without the token is turned away.
  adctl_argv.pop_back();
  EXPECT_NE(Run(adctl_argv, "adctl_no_token", &out), 0);
  EXPECT_THAT(out, HasSubstr("UNAUTHENTICATED"));
}

}  // namespace
}  // namespace ad::services
