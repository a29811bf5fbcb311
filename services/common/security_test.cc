#include "services/common/security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace ad::services {
namespace {

using ::testing::HasSubstr;

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("Bearer abc", "Bearer abc"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("Bearer abd", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer ab", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("Bearer abcd", "Bearer abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), "a"));
}

TEST(SecurityOptionsTest, RejectsHalfPairsAndTokensWithoutTls) {
  SecurityOptions options;
  EXPECT_TRUE(options.Validate(SecurityRole::kServerAndClient).ok());
  options.cert_file = "server.pem";
  absl::Status status = options.Validate(SecurityRole::kServer);
  EXPECT_THAT(status.message(), HasSubstr("--tls_key"));
  // A client ignores the server's flags.
  EXPECT_TRUE(options.Validate(SecurityRole::kClient).ok());

  options = SecurityOptions();
  options.token_file = "token";
  EXPECT_THAT(options.Validate(SecurityRole::kServer).message(),
              HasSubstr("--tls_cert"));
  EXPECT_THAT(options.Validate(SecurityRole::kClient).message(),
              HasSubstr("--tls_ca"));

  options = SecurityOptions();
  options.client_cert_file = "client.pem";
  options.client_key_file = "client.key";
  EXPECT_THAT(options.Validate(SecurityRole::kClient).message(),
              HasSubstr("--tls_ca"));
}

TEST(SecurityOptionsTest, UnreadableFilesNameTheFlagAndPath) {
  SecurityOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  absl::Status status = InstallSecurity(options, SecurityRole::kClient);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("--tls_ca=/nonexistent/ca.pem"));

  const std::string not_pem = ::testing::TempDir() + "/security_test_not_pem";
  std::ofstream(not_pem) << "plain text\n";
  options.ca_file = not_pem;
  status = InstallSecurity(options, SecurityRole::kClient);
  EXPECT_THAT(status.message(), HasSubstr("not a PEM file"));
  std::remove(not_pem.c_str());
}

TEST(SecurityOptionsTest, NothingInstalledIsPlaintext) {
  ResetSecurity();
  EXPECT_NE(InstalledServerCredentials(), nullptr);
  ClientSecurity client = InstalledClientSecurity();
  EXPECT_NE(client.credentials, nullptr);
  EXPECT_TRUE(client.server_name.empty());
}

}  // namespace
}  // namespace ad::services
