#include "envs/darkroom.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "common/status_macros.h"
#include "envs/batch_checks.h"
#include "envs/env.h"
#include "envs/grid.h"
#include "envs/task_id.h"
#include "glog/logging.h"

namespace ad::envs {
namespace {

// N Dark Room instances in flat per-field arrays; one Step is one pass.
class DarkRoomEnv final : public BatchedEnv {
 public:
  DarkRoomEnv(DarkRoomParams params, SpaceSpec space,
              std::vector<std::string> task_ids, std::vector<GridPos> goals)
      : params_(std::move(params)),
        space_(std::move(space)),
        task_ids_(std::move(task_ids)),
        goals_(std::move(goals)),
        pos_(goals_.size(), params_.centre()),
        steps_(goals_.size(), 0),
        rewarded_(goals_.size(), 0) {}

  const SpaceSpec& space() const override { return space_; }
  int num_envs() const override { return static_cast<int>(goals_.size()); }
  const std::string& task_id(int i) const override { return task_ids_.at(i); }

  absl::Status Reset(absl::Span<int32_t> obs) override {
    AD_RETURN_IF_ERROR(CheckSpanSize("obs (num_envs * obs_dim)", obs.size(),
                                     2 * goals_.size()));
    const GridPos centre = params_.centre();
    for (size_t i = 0; i < goals_.size(); ++i) {
      pos_[i] = centre;
      steps_[i] = 0;
      rewarded_[i] = 0;
      obs[2 * i] = centre.x;
      obs[2 * i + 1] = centre.y;
    }
    return absl::OkStatus();
  }

  absl::Status Step(absl::Span<const int32_t> actions,
                    const StepOutput& out) override {
    AD_RETURN_IF_ERROR(CheckStepArgs(space_, num_envs(), actions, out));
    const int32_t size = params_.size;
    const int32_t episode_len = params_.episode_len;
    const uint8_t reward_once = params_.reward_once ? 1 : 0;
    const GridPos centre = params_.centre();
    for (size_t i = 0; i < goals_.size(); ++i) {
      GridPos p = ApplyGridAction(pos_[i], actions[i], size);
      float reward = 0.0f;
      if (p == goals_[i] && !rewarded_[i]) {
        reward = 1.0f;
        rewarded_[i] = reward_once;  // stays 0 in plain Dark Room
      }
      const bool done = ++steps_[i] == episode_len;
      if (done) {
        p = centre;
        steps_[i] = 0;
        rewarded_[i] = 0;
      }
      pos_[i] = p;
      out.obs[2 * i] = p.x;
      out.obs[2 * i + 1] = p.y;
      out.rewards[i] = reward;
      out.dones[i] = done ? 1 : 0;
    }
    return absl::OkStatus();
  }

  absl::Status ExpertActions(absl::Span<int32_t> actions) const override {
    AD_RETURN_IF_ERROR(CheckSpanSize("actions (one per instance)",
                                     actions.size(), goals_.size()));
    for (size_t i = 0; i < goals_.size(); ++i) {
      actions[i] = GreedyActionToward(pos_[i], goals_[i]);
    }
    return absl::OkStatus();
  }

 private:
  const DarkRoomParams params_;
  const SpaceSpec space_;
  const std::vector<std::string> task_ids_;
  const std::vector<GridPos> goals_;
  std::vector<GridPos> pos_;       // current cell
  std::vector<int32_t> steps_;     // steps taken in the current episode
  std::vector<uint8_t> rewarded_;  // Hard: goal reward paid this episode
};

}  // namespace

DarkRoomParams DarkRoomDefaultParams() {
  return DarkRoomParams{/*family=*/"darkroom", /*size=*/9,
                        /*episode_len=*/20, /*reward_once=*/false};
}

DarkRoomParams DarkRoomHardParams() {
  return DarkRoomParams{/*family=*/"darkroom_hard", /*size=*/17,
                        /*episode_len=*/20, /*reward_once=*/true};
}

std::string FormatDarkRoomTask(const DarkRoomParams& params, GridPos goal) {
  CHECK(goal.x >= 0 && goal.x < params.size && goal.y >= 0 &&
        goal.y < params.size)
      << "goal (" << goal.x << "," << goal.y << ") is off the " << params.family
      << " grid";
  return absl::StrCat(params.family, "/goal=", goal.x, ",", goal.y);
}

absl::StatusOr<GridPos> ParseDarkRoomTask(const DarkRoomParams& params,
                                          std::string_view task_id) {
  const std::string expected_form = absl::StrCat(params.family, "/goal=X,Y");
  TaskIdReader reader(task_id, expected_form);
  AD_RETURN_IF_ERROR(reader.Literal(absl::StrCat(params.family, "/goal=")));
  GridPos goal;
  AD_ASSIGN_OR_RETURN(goal.x, reader.Int("goal x"));
  AD_RETURN_IF_ERROR(reader.Literal(","));
  AD_ASSIGN_OR_RETURN(goal.y, reader.Int("goal y"));
  AD_RETURN_IF_ERROR(reader.End());
  AD_RETURN_IF_ERROR(CheckTaskRange(task_id, "goal x", goal.x, 0, params.size));
  AD_RETURN_IF_ERROR(CheckTaskRange(task_id, "goal y", goal.y, 0, params.size));
  return goal;
}

double DarkRoomOptimalReturn(const DarkRoomParams& params, GridPos goal) {
  const int distance = ManhattanDistance(goal, params.centre());
  if (distance > params.episode_len) return 0.0;
  if (params.reward_once) return 1.0;
  return std::min(params.episode_len, params.episode_len + 1 - distance);
}

DarkRoomFamily::DarkRoomFamily(DarkRoomParams params)
    : params_(std::move(params)) {
  space_.family = params_.family;
  space_.obs_dim = 2;
  space_.obs_high = {params_.size, params_.size};
  space_.num_actions = kNumGridActions;
  space_.episode_len = params_.episode_len;
  space_.description = absl::StrFormat(
      "%dx%d dark room, episode %d steps, every episode starts at the centre "
      "(%d,%d); observation (x, y); the goal is invisible; r = 1 %s, else 0; "
      "%s",
      params_.size, params_.size, params_.episode_len, params_.centre().x,
      params_.centre().y,
      params_.reward_once
          ? "once per episode, on the first step that ends on the goal"
          : "on every step that ends on the goal (staying on it included)",
      kGridActionsDoc);
}

std::vector<std::string> DarkRoomFamily::AllTasks() const {
  std::vector<std::string> tasks;
  tasks.reserve(params_.size * params_.size);
  for (int32_t x = 0; x < params_.size; ++x) {
    for (int32_t y = 0; y < params_.size; ++y) {
      tasks.push_back(FormatDarkRoomTask(params_, GridPos{x, y}));
    }
  }
  return tasks;
}

absl::Status DarkRoomFamily::ValidateTask(std::string_view task_id) const {
  return ParseDarkRoomTask(params_, task_id).status();
}

absl::StatusOr<double> DarkRoomFamily::OptimalReturn(
    std::string_view task_id) const {
  AD_ASSIGN_OR_RETURN(const GridPos goal, ParseDarkRoomTask(params_, task_id));
  return DarkRoomOptimalReturn(params_, goal);
}

absl::StatusOr<std::unique_ptr<BatchedEnv>> DarkRoomFamily::Make(
    absl::Span<const std::string> task_ids, int num_envs,
    uint64_t /*seed*/) const {
  AD_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                      ExpandTaskIds(task_ids, num_envs));
  AD_ASSIGN_OR_RETURN(std::vector<GridPos> goals,
                      ParseTaskIds<GridPos>(ids, [this](std::string_view id) {
                        return ParseDarkRoomTask(params_, id);
                      }));
  return std::make_unique<DarkRoomEnv>(params_, space_, std::move(ids),
                                       std::move(goals));
}

}  // namespace ad::envs
