#include "services/demo/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include <csignal>
#include <deque>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace ad::demo {
namespace {
volatile std::sig_atomic_t stop_requested = 0;
}  // namespace

void Supervisor::RequestStop() { stop_requested = 1; }

Supervisor::Supervisor(std::string bin_dir, std::string log_dir)
    : bin_dir_(std::move(bin_dir)), log_dir_(std::move(log_dir)) {}

Supervisor::~Supervisor() { StopAll(absl::Seconds(5)); }

std::string Supervisor::LogPath(const std::string& name) const {
  return absl::StrCat(log_dir_, "/", name, ".log");
}

std::string Supervisor::LogTail(const std::string& name, int lines) const {
  std::ifstream in(LogPath(name));
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    // Progress lines redrawn with '\r' keep only their last state.
    const size_t cr = line.rfind('\r');
    if (cr != std::string::npos) line = line.substr(cr + 1);
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  return absl::StrJoin(tail, "\n");
}

absl::Status Supervisor::Start(const std::string& name,
                               const std::string& program,
                               const std::vector<std::string>& args,
                               bool daemon) {
  if (Find(name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("child ", name, " exists"));
  }
  std::vector<std::string> argv = {absl::StrCat(bin_dir_, "/", program)};
  argv.insert(argv.end(), args.begin(), args.end());
  {
    std::ofstream log(LogPath(name), std::ios::app);
    log << "$ " << absl::StrJoin(argv, " ") << "\n";
  }
  auto process = Subprocess::Start(argv, LogPath(name));
  if (!process.ok()) return process.status();
  auto child = std::make_unique<Child>(
      Child{name, daemon, /*stopping=*/false, std::move(*process)});
  children_.push_back(std::move(child));
  return absl::OkStatus();
}

Supervisor::Child* Supervisor::Find(const std::string& name) {
  for (auto& c : children_) {
    if (c->name == name) return c.get();
  }
  return nullptr;
}

absl::Status Supervisor::CheckAlive() {
  if (stop_requested) {
    return absl::CancelledError("stopped by a signal (SIGINT or SIGTERM)");
  }
  for (auto& c : children_) {
    if (c->stopping || c->process.Running()) continue;
    auto status = c->process.Wait(absl::ZeroDuration());
    const bool clean_job_exit = !c->daemon && status.ok() &&
                                WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
    if (clean_job_exit) continue;
    c->stopping = true;  // report it once
    return absl::FailedPreconditionError(absl::StrCat(
        c->name, " (pid ", c->process.pid(), ") ", c->process.DescribeExit(),
        "; last lines of ", LogPath(c->name), ":\n", LogTail(c->name, 15)));
  }
  return absl::OkStatus();
}

absl::Status Supervisor::WaitForJob(const std::string& name,
                                    absl::Duration timeout,
                                    const std::function<void()>& on_tick) {
  Child* job = Find(name);
  if (job == nullptr)
    return absl::NotFoundError(absl::StrCat("no child ", name));
  const absl::Time deadline = absl::Now() + timeout;
  while (job->process.Running()) {
    if (absl::Status s = CheckAlive(); !s.ok()) return s;
    if (on_tick) on_tick();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(name, " did not finish within ",
                       absl::FormatDuration(timeout), "; see ", LogPath(name)));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return CheckAlive();
}

std::string Supervisor::Stop(const std::string& name, absl::Duration grace) {
  Child* c = Find(name);
  if (c == nullptr) return "unknown";
  c->stopping = true;
  if (c->process.Running()) {
    (void)c->process.Signal(SIGTERM);
    if (!c->process.Wait(grace).ok()) c->process.Kill();
  }
  return c->process.DescribeExit();
}

void Supervisor::StopAll(absl::Duration grace) {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    Child& c = **it;
    const bool was_running = c.process.Running();
    const std::string how = Stop(c.name, grace);
    if (was_running) LOG(INFO) << "stopped " << c.name << ": " << how;
  }
}

}  // namespace ad::demo
