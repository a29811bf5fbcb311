#include "services/adctl/env_commands.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "envs/env.h"
#include "envs/registry.h"
#include "envs/step_buffers.h"
#include "envs/watermaze.h"
#include "evaluator/plot.h"
#include "services/adctl/flags.h"
#include "services/adctl/npy_writer.h"

ABSL_FLAG(int, rows, 3, "env frames: tasks shown, one per row (1..16)");
ABSL_FLAG(int, frames, 8, "env frames: frames per task (1..32)");
ABSL_FLAG(int, frame_stride, 3,
          "env frames: expert steps between frames (1..50)");
ABSL_FLAG(uint64_t, seed, 1, "env frames: seed of the env (start headings)");
ABSL_FLAG(std::string, python, "/usr/bin/python3",
          "env frames: python3 with matplotlib, draws the PNG");

namespace ad::adctl {
namespace {

absl::Status CheckFlagRange(const char* flag, int value, int lo, int hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return UsageError(
      absl::StrFormat("--%s = %d is outside [%d, %d]", flag, value, lo, hi));
}

absl::Status Frames(const std::vector<std::string>& args) {
  if (!args.empty()) return UsageError("frames takes no arguments");
  const std::string env = absl::GetFlag(FLAGS_env);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (env.empty() || out.empty()) {
    return UsageError("frames needs --env=FAMILY and --out=FILE.png");
  }
  const int rows = absl::GetFlag(FLAGS_rows);
  const int cols = absl::GetFlag(FLAGS_frames);
  const int stride = absl::GetFlag(FLAGS_frame_stride);
  AD_RETURN_IF_ERROR(CheckFlagRange("rows", rows, 1, 16));
  AD_RETURN_IF_ERROR(CheckFlagRange("frames", cols, 1, 32));
  AD_RETURN_IF_ERROR(CheckFlagRange("frame_stride", stride, 1, 50));
  AD_RETURN_IF_ERROR(envs::FindFamily(env).status());
  if (env != "watermaze") {
    return UsageError(absl::StrFormat(
        "env '%s' has no pixel observations; frames draws watermaze", env));
  }
  const envs::WatermazeFamily family;
  std::vector<std::string> tasks;
  if (const std::string task = absl::GetFlag(FLAGS_task); !task.empty()) {
    AD_RETURN_IF_ERROR(family.ValidateTask(task));
    tasks = {task};
  } else {
    tasks = envs::EvenlySpacedTasks(family.AllTasks(), rows);
  }
  const int n = static_cast<int>(tasks.size());
  AD_ASSIGN_OR_RETURN(
      std::unique_ptr<envs::WatermazeEnv> instances,
      family.MakeWatermaze(tasks, n, absl::GetFlag(FLAGS_seed)));

  // grid[r][c] = task r's view after c * stride expert steps.
  const size_t frame_bytes = envs::kWatermazeFrameBytes;
  std::vector<uint8_t> grid(static_cast<size_t>(n) * cols * frame_bytes);
  std::vector<uint8_t> views(static_cast<size_t>(n) * frame_bytes);
  std::vector<std::string> row_labels, cell_labels(n * cols);
  for (int r = 0; r < n; ++r) {
    row_labels.push_back(absl::StrFormat("%s\nstart heading %d deg", tasks[r],
                                         instances->pose(r).heading * 30));
  }
  envs::StepBuffers step(*instances);
  std::vector<int32_t> actions(n);
  std::vector<float> returns(n, 0.0f);
  for (int c = 0; c < cols; ++c) {
    if (c > 0) {
      for (int t = 0; t < stride; ++t) {
        AD_RETURN_IF_ERROR(instances->ExpertActions(absl::MakeSpan(actions)));
        AD_RETURN_IF_ERROR(instances->Step(actions, step.output()));
        for (int r = 0; r < n; ++r) returns[r] += step.rewards[r];
      }
    }
    AD_RETURN_IF_ERROR(instances->RenderFrames(absl::MakeSpan(views)));
    for (int r = 0; r < n; ++r) {
      std::copy_n(
          views.begin() + r * frame_bytes, frame_bytes,
          grid.begin() + (static_cast<size_t>(r) * cols + c) * frame_bytes);
      cell_labels[r * cols + c] = absl::StrFormat(
          "t=%d%s return %g", c * stride,
          c > 0 && step.rewards[r] > 0 ? " ON" : "", returns[r]);
    }
  }

  const std::string npy = out + ".npy";
  NpyWriter writer;
  AD_RETURN_IF_ERROR(
      writer.Open(npy, "|u1", 1,
                  {static_cast<uint64_t>(n), static_cast<uint64_t>(cols),
                   envs::kWatermazeHeight, envs::kWatermazeWidth,
                   envs::kWatermazeChannels}));
  AD_RETURN_IF_ERROR(writer.Write(grid.data(), grid.size()));
  AD_RETURN_IF_ERROR(writer.Close());
  evaluator::PlotOptions plot;
  plot.python = absl::GetFlag(FLAGS_python);
  AD_RETURN_IF_ERROR(
      evaluator::PlotFrames(plot, npy, row_labels, cell_labels, out));
  std::remove(npy.c_str());
  std::printf("%s: %d tasks x %d frames, every %d steps\n", out.c_str(), n,
              cols, stride);
  return absl::OkStatus();
}

}  // namespace

void RegisterEnvCommands(CommandRegistry* registry) {
  registry->Add({"env", "frames",
                 "--env=watermaze --out=FILE.png [--task=ID] [--rows=3] "
                 "[--frames=8] [--frame_stride=3] [--seed=1]",
                 "The expert's first views on a few tasks, as one PNG",
                 Frames});
}

}  // namespace ad::adctl
