#include "learner/export.h"

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace ad::learner {
namespace {

namespace fs = std::filesystem;

// Debian's python3-torch lives under /usr/bin/python3 (a pyenv python3 on
// PATH may not have it).
constexpr char kPython[] = "/usr/bin/python3";

// The same deterministic inputs in C++ and in the Python snippet below.
ModelInput PatternInput(int64_t b, int64_t t) {
  torch::Tensor i = torch::arange(b * t, torch::kLong).reshape({b, t});
  torch::Tensor bi = torch::arange(b, torch::kLong).reshape({b, 1});
  torch::Tensor ti = torch::arange(t, torch::kLong).reshape({1, t});
  ModelInput in;
  in.obs = torch::stack({(bi * 7 + ti * 3).remainder(9).expand({b, t}),
                         (bi + ti * 5).remainder(9).expand({b, t})},
                        2);
  in.prev_actions = (i.remainder(6) - 1);
  in.prev_rewards = i.remainder(3).eq(0).to(torch::kFloat);
  in.prev_dones = ti.remainder(5).eq(0).to(torch::kFloat).expand({b, t});
  return in;
}

constexpr char kPythonSnippet[] = R"(
import sys, torch
m = torch.jit.load(sys.argv[1])
b, t = int(sys.argv[2]), int(sys.argv[3])
i = torch.arange(b * t).reshape(b, t)
bi = torch.arange(b).reshape(b, 1)
ti = torch.arange(t).reshape(1, t)
obs = torch.stack([((bi * 7 + ti * 3) % 9).expand(b, t),
                   ((bi + ti * 5) % 9).expand(b, t)], 2)
pa = i % 6 - 1
pr = (i % 3 == 0).float()
pd = (ti % 5 == 0).float().expand(b, t)
with torch.no_grad():
    full = m(obs, pa, pr, pd)
    nxt = m.next_action_logits(obs, pa, pr, pd)
    no_done = m(obs, pa, pr)
assert full.shape == (b, t, 5), full.shape
assert no_done.shape == (b, t, 5)
print(" ".join(repr(float(x)) for x in full.flatten()))
print(" ".join(repr(float(x)) for x in nxt.flatten()))
)";

std::string RunCommand(const std::string& command, int* exit_status) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    out.append(buffer, n);
  }
  *exit_status = ::pclose(pipe);
  return out;
}

std::vector<float> ParseFloats(absl::string_view line) {
  std::vector<float> values;
  for (absl::string_view s : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    float x = 0;
    EXPECT_TRUE(absl::SimpleAtof(s, &x)) << s;
    values.push_back(x);
  }
  return values;
}

TEST(ExportTest, PythonTorchJitLoadRunsThePolicy) {
  int status = 0;
  RunCommand(absl::StrCat(kPython, " -c 'import torch' 2>/dev/null"), &status);
  if (status != 0) GTEST_SKIP() << kPython << " has no torch module";

  for (bool post_norm : {true, false}) {
    ModelOptions o;
    o.context_len = 16;
    o.embed_dim = 16;
    o.num_layers = 2;
    o.num_heads = 4;
    o.ff_dim = 24;
    o.post_norm = post_norm;
    torch::manual_seed(3);
    auto model = CreateModel(o, torch::kCPU);
    ASSERT_TRUE(model.ok());
    (*model)->eval();
    const std::string dir = ::testing::TempDir();
    const std::string path =
        (fs::path(dir) /
         absl::StrCat("policy-", ::getpid(), "-", post_norm, ".ts"))
            .string();
    absl::Status exported = ExportTorchScript(*model, path);
    ASSERT_TRUE(exported.ok()) << exported;

    const std::string script = (fs::path(dir) / "check_export.py").string();
    {
      FILE* f = std::fopen(script.c_str(), "w");
      ASSERT_NE(f, nullptr);
      std::fputs(kPythonSnippet, f);
      std::fclose(f);
    }
    std::string out = RunCommand(
        absl::StrCat(kPython, " ", script, " ", path, " 3 11"), &status);
    ASSERT_EQ(status, 0) << out;
    std::vector<std::string> lines =
        absl::StrSplit(out, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 2u) << out;

    torch::NoGradGuard no_grad;
    ModelInput in = PatternInput(3, 11);
    torch::Tensor full = (*model)->Forward(in).contiguous();
    torch::Tensor next = (*model)->NextActionLogits(in).contiguous();
    std::vector<float> py_full = ParseFloats(lines[0]);
    std::vector<float> py_next = ParseFloats(lines[1]);
    ASSERT_EQ(py_full.size(), static_cast<size_t>(full.numel()));
    ASSERT_EQ(py_next.size(), static_cast<size_t>(next.numel()));
    const float* f = full.data_ptr<float>();
    for (size_t k = 0; k < py_full.size(); ++k) {
      EXPECT_NEAR(py_full[k], f[k], 1e-4) << "logit " << k;
    }
    const float* n = next.data_ptr<float>();
    for (size_t k = 0; k < py_next.size(); ++k) {
      EXPECT_NEAR(py_next[k], n[k], 1e-4) << "next logit " << k;
    }
  }
}

}  // namespace
}  // namespace ad::learner
