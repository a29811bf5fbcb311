// Env-steps/s of Dark Room over loopback gRPC (one EnvService.Session stream,
// lockstep: one request per batched step, as an actor uses it) at batch 1,
// 16 and 256, next to in-process stepping of the same env measured in the
// same run. The server runs in this process on a free 127.0.0.1 port, so the
// traffic goes through the kernel's TCP loopback like a separate process's.
//
//   build/bin/ad_bench_env_server [--seconds=2] [--batches=1,16,256]
//                                 [--server=127.0.0.1:50051]
//
// With --server, the gRPC side talks to that (separate) ad-env-server.
//
// Runtime: about 2 x seconds per batch size (~12 s by default).
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "envs/registry.h"
#include "glog/logging.h"
#include "services/common/server.h"
#include "services/env/env_service.h"
#include "services/env/remote_env.h"

ABSL_FLAG(double, seconds, 2.0, "Measuring time per configuration");
ABSL_FLAG(std::string, server, "",
          "host:port of a running ad-env-server; empty: start one in this "
          "process");
ABSL_FLAG(std::vector<std::string>, batches,
          std::vector<std::string>({"1", "16", "256"}),
          "Batch sizes (instances per session)");

namespace ad::services {
namespace {

void Check(const absl::Status& status) { CHECK(status.ok()) << status; }

struct Result {
  int64_t env_steps = 0;
  double seconds = 0;
  double rate() const { return env_steps / seconds; }
};

// Steps `env` with pre-drawn random actions for about `budget`; counts
// env-steps (instances x batched steps). Dies on an env error.
Result Measure(envs::BatchedEnv& env, absl::Duration budget) {
  const int n = env.num_envs();
  std::vector<int32_t> obs(n * env.space().obs_dim);
  std::vector<float> rewards(n);
  std::vector<uint8_t> dones(n);
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> pick(0, env.space().num_actions - 1);
  std::vector<int32_t> actions(static_cast<size_t>(n) * 64);
  for (int32_t& a : actions) a = pick(rng);
  Check(env.Reset(absl::MakeSpan(obs)));
  const envs::StepOutput out = {absl::MakeSpan(obs), absl::MakeSpan(rewards),
                                absl::MakeSpan(dones)};
  // Warm-up (connection, allocations).
  for (int i = 0; i < 20; ++i) {
    Check(env.Step(absl::MakeConstSpan(actions.data(), n), out));
  }
  Result result;
  const absl::Time start = absl::Now();
  const absl::Time end = start + budget;
  int64_t batches = 0;
  do {
    for (int k = 0; k < 16; ++k, ++batches) {
      const int32_t* a = actions.data() + (batches % 64) * n;
      Check(env.Step(absl::MakeConstSpan(a, n), out));
    }
  } while (absl::Now() < end);
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  result.env_steps = batches * n;
  return result;
}

int Main() {
  const absl::Duration budget = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  auto registry = std::make_shared<prometheus::Registry>();
  EnvServiceImpl service(EnvServiceImpl::Options(), *registry);
  ServerOptions options;
  options.name = "bench-env-server";
  options.metrics_port = -1;
  auto server = Server::Start(options, {&service}, nullptr);
  Check(server.status());
  std::string address = absl::GetFlag(FLAGS_server);
  if (address.empty()) address = (*server)->address();
  std::printf("Dark Room, lockstep over one Session stream to %s\n",
              address.c_str());

  const std::vector<std::string> tasks = {"darkroom/goal=2,6"};
  std::printf("%-6s %18s %18s %10s %14s\n", "batch", "in-process st/s",
              "gRPC st/s", "gRPC/local", "gRPC msgs/s");
  for (const std::string& b : absl::GetFlag(FLAGS_batches)) {
    const int n = std::stoi(b);
    auto local = MakeEnv("local", "darkroom", tasks, n, /*seed=*/1);
    Check(local.status());
    auto remote = MakeEnv(address, "darkroom", tasks, n, 1);
    Check(remote.status());
    const Result in_process = Measure(**local, budget);
    const Result grpc = Measure(**remote, budget);
    std::printf("%-6d %18s %18s %9.4fx %14s\n", n,
                absl::StrFormat("%.4g", in_process.rate()).c_str(),
                absl::StrFormat("%.4g", grpc.rate()).c_str(),
                grpc.rate() / in_process.rate(),
                absl::StrFormat("%.4g", grpc.rate() / n).c_str());
    std::fflush(stdout);
  }
  (*server)->Shutdown(absl::ZeroDuration());
  return 0;
}

}  // namespace
}  // namespace ad::services

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  return ad::services::Main();
}
