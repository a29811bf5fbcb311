// Every binary's --help names its flags (issue 15, outcome 3: they used to
// print "No flags matched" because absl only lists flags defined in a file
// named like the binary; services/common/usage.h fixes the filter).
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace ad::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct HelpCase {
  std::string binary;
  std::vector<std::string> flags;  // flags the help must name
};

void PrintTo(const HelpCase& help_case, std::ostream* os) {
  *os << help_case.binary;
}

// Runs `binary --help`; its stdout and stderr together.
std::string Help(const std::string& binary) {
  const std::string log = absl::StrCat(::testing::TempDir(), "/", binary,
                                       "-help-", getpid(), ".txt");
  std::remove(log.c_str());
  auto process = Subprocess::Start({BinaryPath(binary), "--help"}, log);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return "";
  auto status = process->Wait(absl::Seconds(60));
  EXPECT_TRUE(status.ok()) << binary << ": " << status.status();
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class HelpTest : public ::testing::TestWithParam<HelpCase> {};

TEST_P(HelpTest, ListsTheBinarysFlags) {
  const std::string help = Help(GetParam().binary);
  EXPECT_THAT(help, Not(HasSubstr("No flags matched")));
  for (const std::string& flag : GetParam().flags) {
    // absl prints each flag as "    --name (help text); default: ...".
    EXPECT_THAT(help, HasSubstr(absl::StrCat("--", flag, " ")))
        << GetParam().binary << " --help does not name --" << flag << ":\n"
        << help;
  }
  // Abseil's own flags stay in --helpfull.
  EXPECT_THAT(help, Not(HasSubstr("--flagfile")));
}

INSTANTIATE_TEST_SUITE_P(
    EveryBinary, HelpTest,
    ::testing::Values(
        HelpCase{"ad-store", {"db", "port", "metrics_port", "host", "sync"}},
        HelpCase{"ad-env-server", {"port", "metrics_port", "max_sessions"}},
        HelpCase{"ad-learner", {"preset", "store", "checkpoint_dir", "port"}},
        HelpCase{"ad-evaluator", {"port", "checkpoint_dir", "output_dir"}},
        HelpCase{"ad-actor", {"source", "sink", "env", "preset"}},
        HelpCase{"ad-demo", {"source", "out", "actors"}},
        HelpCase{"adctl", {"store", "task", "format", "timeout"}}),
    [](const ::testing::TestParamInfo<HelpCase>& info) {
      std::string name;
      for (char c : info.param.binary) name += c == '-' ? '_' : c;
      return name;
    });

}  // namespace
}  // namespace ad::testing
