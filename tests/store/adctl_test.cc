// Runs the real adctl binary against a real ad-store: tasks, histories,
// show, export (csv and npy), and its errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/store/store_sink.h"
#include "services/store/store_test_util.h"
#include "tests/testing/subprocess.h"

namespace ad::services::store {
namespace {

using ad::testing::BinaryPath;
using ad::testing::PickFreePort;
using ad::testing::ReadFile;
using ad::testing::StartStore;
using ad::testing::Subprocess;
using ::testing::HasSubstr;

class AdctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = PickFreePort();
    auto store = StartStore(dir_.Sub("db"), port_, dir_.Sub("store.log"),
                            {"--grace=0s"});
    ASSERT_TRUE(store.ok()) << store.status();
    store_.emplace(std::move(store).value());
    StoreSink::Options options;
    options.address = absl::StrCat("127.0.0.1:", port_);
    auto sink = std::move(StoreSink::Create(options)).value();
    for (int h = 0; h < 2; ++h) {
      const std::string id = absl::StrCat("run/h", h);
      for (uint64_t seq = 0; seq < 3; ++seq) {
        ASSERT_TRUE(sink->Append(testing::WireMeta(id),
                                 testing::WireChunk(h, seq, seq * 40, 40),
                                 seq == 2)
                        .ok());
      }
    }
    ASSERT_TRUE(sink->Flush(absl::Seconds(10)).ok());
  }

  // Runs adctl with `args`; returns its exit code, output in *out.
  int Adctl(std::vector<std::string> args, std::string* out) {
    const std::string log = dir_.Sub(absl::StrCat("adctl", runs_++, ".out"));
    args.insert(args.begin(), BinaryPath("adctl"));
    args.push_back(absl::StrCat("--store=127.0.0.1:", port_));
    auto process = Subprocess::Start(args, log);
    CHECK(process.ok()) << process.status();
    auto status = process->Wait(absl::Seconds(30));
    CHECK(status.ok()) << status.status();
    *out = ReadFile(log);
    return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

  storage::testing::TempDir dir_;
  int port_ = 0;
  int runs_ = 0;
  std::optional<Subprocess> store_;
};

TEST_F(AdctlTest, ListsTasksHistoriesAndTransitions) {
  std::string out;
  ASSERT_EQ(Adctl({"store", "tasks"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("darkroom/goal=1,1"));
  EXPECT_THAT(out, HasSubstr("240"));
  ASSERT_EQ(Adctl({"store", "histories", "--task=darkroom/goal=1,1"}, &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("run/h0"));
  EXPECT_THAT(out, HasSubstr("run/h1"));
  ASSERT_EQ(Adctl({"store", "show", "run/h1", "--range=5:8"}, &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("length 120"));
  EXPECT_THAT(out, HasSubstr("1,5"));  // obs of t = 5 is {tag 1, 5}
  EXPECT_THAT(out, HasSubstr("1,7"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("1,8 ")));

  EXPECT_EQ(Adctl({"store", "histories", "--task=darkroom/goal=9,9"}, &out), 1);
  EXPECT_THAT(out, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Adctl({"store", "show", "run/h1", "--range=5:999"}, &out), 1);
  EXPECT_EQ(Adctl({"store", "nope"}, &out), 2);
}

TEST_F(AdctlTest, ExportsCsvAndNpy) {
  std::string out;
  const std::string csv = dir_.Sub("task.csv");
  ASSERT_EQ(Adctl({"store", "export", "--task=darkroom/goal=1,1",
                   "--format=csv", "--out=" + csv},
                  &out),
            0)
      << out;
  const std::vector<std::string> lines =
      absl::StrSplit(ReadFile(csv), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 241u);
  EXPECT_EQ(lines[0], "history_id,t,episode,obs_0,obs_1,action,reward,done");
  EXPECT_EQ(lines[10], "run/h0,9,0,0,9,4,1,1");

  const std::string npy = dir_.Sub("npy");
  ASSERT_EQ(Adctl({"store", "export", "--task=darkroom/goal=1,1",
                   "--format=npy", "--out=" + npy},
                  &out),
            0)
      << out;
  const std::string obs = ReadFile(npy + "/obs.npy");
  ASSERT_GT(obs.size(), 128u);
  EXPECT_EQ(obs.substr(0, 6), "\x93NUMPY");
  EXPECT_THAT(obs.substr(0, 128), HasSubstr("'shape': (240, 2)"));
  const size_t header =
      10 + (static_cast<uint8_t>(obs[8]) | (static_cast<uint8_t>(obs[9]) << 8));
  EXPECT_EQ(header % 64, 0u);
  EXPECT_EQ(obs.size(), header + 240 * 2 * 4);
  EXPECT_EQ(ReadFile(npy + "/dones.npy").size(), header + 240);
  EXPECT_THAT(ReadFile(npy + "/histories.csv"), HasSubstr("1,run/h1"));
}

// Splits RFC 4180 text into records of fields (quoted fields may hold
// commas, doubled quotes and line breaks).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row(1);
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        row.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        row.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.emplace_back();
    } else if (c == '\n') {
      rows.push_back(std::move(row));
      row.assign(1, "");
    } else {
      row.back() += c;
    }
  }
  if (row.size() > 1 || !row[0].empty()) rows.push_back(std::move(row));
  return rows;
}

TEST_F(AdctlTest, ExportsKeepIdsWithCommasQuotesAndNewlinesInOneField) {
  const std::string id = "run/a,b";                  // ',' is an id char
  const std::string task = "evil\"task\n9,1,x,\"y";  // any bytes but NUL
  {
    StoreSink::Options options;
    options.address = absl::StrCat("127.0.0.1:", port_);
    auto sink = std::move(StoreSink::Create(options)).value();
    ASSERT_TRUE(sink->Append(testing::WireMeta(id, task),
                             testing::WireChunk(5, 0, 0, 20), true)
                    .ok());
    ASSERT_TRUE(sink->Flush(absl::Seconds(10)).ok());
  }
  std::string out;
  const std::string csv = dir_.Sub("evil.csv");
  ASSERT_EQ(Adctl({"store", "export", "--task=" + task, "--format=csv",
                   "--out=" + csv},
                  &out),
            0)
      << out;
  const auto rows = ParseCsv(ReadFile(csv));
  ASSERT_EQ(rows.size(), 21u);
  for (const auto& row : rows) ASSERT_EQ(row.size(), 8u);
  EXPECT_EQ(rows[1][0], id);
  EXPECT_EQ(rows[1][3], "5");  // obs_0: the columns did not shift

  const std::string npy = dir_.Sub("evil_npy");
  ASSERT_EQ(Adctl({"store", "export", "--task=" + task, "--format=npy",
                   "--out=" + npy},
                  &out),
            0)
      << out;
  const auto table = ParseCsv(ReadFile(npy + "/histories.csv"));
  ASSERT_EQ(table.size(), 2u);  // header and one history, no fake row
  ASSERT_EQ(table[1].size(), 11u);
  EXPECT_EQ(table[1][1], id);
  EXPECT_EQ(table[1][3], task);
  EXPECT_EQ(table[1][8], "20");  // length
}

TEST_F(AdctlTest, DeleteRemovesAHistoryAndAudits) {
  std::string out;
  ASSERT_EQ(Adctl({"store", "delete", "run/h1", "--reason=bad rewards"}, &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("deleted run/h1"));
  EXPECT_THAT(out, HasSubstr("audit: store delete 'run/h1' by "));
  EXPECT_THAT(out, HasSubstr("reason 'bad rewards'"));
  EXPECT_THAT(ReadFile(dir_.Sub("store.log")),
              HasSubstr("audit: DeleteHistory 'run/h1'"));
  ASSERT_EQ(Adctl({"store", "histories", "--task=darkroom/goal=1,1"}, &out), 0)
      << out;
  EXPECT_THAT(out, HasSubstr("run/h0"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("run/h1")));
  EXPECT_EQ(Adctl({"store", "delete", "run/h1"}, &out), 1);
  EXPECT_THAT(out, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Adctl({"store", "delete"}, &out), 2);
}

}  // namespace
}  // namespace ad::services::store
