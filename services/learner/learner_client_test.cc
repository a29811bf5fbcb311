#include "services/learner/learner_client.h"

#include <prometheus/registry.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/server.h"
#include "services/common/test_server.h"
#include "services/learner/learner_service.h"

namespace ad::services::learner {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// 2500 bytes, every value of a byte, in a pattern.
std::string FiveBytes() {
  std::string bytes(2500, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>((i * 7) % 256);
  }
  return bytes;
}

// A LearnerService over a checkpoint directory holding two files (steps 5
// and 9) whose bytes are known, served in-process on a free port with
// 1 KiB chunks, so that checkpoint 5 crosses three messages.
class LearnerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(::testing::TempDir()) + "/learner_client_" +
           std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    WriteCheckpointFile(5, FiveBytes());
    WriteCheckpointFile(9, std::string("nine\0with a nul", 15));
    LearnerServiceImpl::Options options;
    options.checkpoint_dir = dir_;
    options.chunk_bytes = 1024;
    service_ = std::make_unique<LearnerServiceImpl>(options, &registry_);
    auto server = StartTestServer("learner-test", service_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    std::filesystem::remove_all(dir_);
  }

  void WriteCheckpointFile(int step, const std::string& bytes) {
    char name[64];
    snprintf(name, sizeof(name), "ckpt-%012d.pt", step);
    std::ofstream(dir_ + "/" + name, std::ios::binary) << bytes;
  }

  std::unique_ptr<LearnerClient> Client() {
    LearnerClient::Options options;
    options.address = server_->address();
    options.rpc_timeout = absl::Seconds(10);
    auto client = LearnerClient::Create(options);
    CHECK(client.ok()) << client.status();
    return *std::move(client);
  }

  std::string dir_;
  prometheus::Registry registry_;
  std::unique_ptr<LearnerServiceImpl> service_;
  std::unique_ptr<Server> server_;
};

TEST_F(LearnerClientTest, ListsAndFetchesCheckpointsWhole) {
  std::unique_ptr<LearnerClient> client = Client();
  auto list = client->ListCheckpoints();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->checkpoints_size(), 2);
  EXPECT_EQ(list->checkpoints(0).step(), 5u);
  EXPECT_EQ(list->checkpoints(1).step(), 9u);

  auto five = client->GetCheckpoint(5);
  ASSERT_TRUE(five.ok()) << five.status();
  EXPECT_EQ(*five, FiveBytes());
  auto latest = client->GetCheckpoint(0);  // 0: the latest
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, std::string("nine\0with a nul", 15));

  const std::string path = dir_ + "/fetched.pt";
  ASSERT_TRUE(client->FetchCheckpoint(5, path).ok());
  EXPECT_EQ(ReadFile(path), FiveBytes());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  auto status = client->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->device(), "cpu");
}

TEST_F(LearnerClientTest, MissingCheckpointIsNotFoundNamingTheCall) {
  std::unique_ptr<LearnerClient> client = Client();
  auto missing = client->GetCheckpoint(7);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("GetCheckpoint on"));
  const std::string path = dir_ + "/never.pt";
  EXPECT_EQ(client->FetchCheckpoint(7, path).code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(LearnerClientOptionsTest, RejectsBadOptionsAndReportsUnreachable) {
  LearnerClient::Options options;
  options.address = "";
  EXPECT_EQ(LearnerClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.address = "127.0.0.1:1";
  options.rpc_timeout = absl::ZeroDuration();
  EXPECT_EQ(LearnerClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.rpc_timeout = absl::Seconds(2);
  options.backoff.max_attempts = 2;
  options.backoff.initial = absl::Milliseconds(1);
  auto client = LearnerClient::Create(options);
  ASSERT_TRUE(client.ok());
  auto list = (*client)->ListCheckpoints();
  EXPECT_EQ(list.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(list.status().message(), HasSubstr("127.0.0.1:1"));
}

}  // namespace
}  // namespace ad::services::learner
