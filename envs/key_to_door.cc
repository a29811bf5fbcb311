#include "envs/key_to_door.h"

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
#include "common/rng.h"
#include "common/status_macros.h"
#include "envs/batch_checks.h"
#include "envs/env.h"
#include "envs/grid.h"
#include "envs/task_id.h"
#include "glog/logging.h"

namespace ad::envs {
namespace {

constexpr char kFamily[] = "key_to_door";
constexpr char kTaskForm[] = "key_to_door/key=X,Y;door=X,Y";

// Per-episode progress of one instance.
enum Progress : uint8_t {
  kSeekingKey = 0,
  kSeekingDoor = 1,  // holds the key
  kDone = 2,         // opened the door
};

bool OnGrid(GridPos p) {
  return p.x >= 0 && p.x < kKeyToDoorSize && p.y >= 0 && p.y < kKeyToDoorSize;
}

// Reads "X,Y"; `name` ("key", "door") names the coordinates in errors.
absl::StatusOr<GridPos> ReadCell(TaskIdReader& reader, std::string_view name) {
  GridPos p;
  AD_ASSIGN_OR_RETURN(p.x, reader.Int(absl::StrFormat("%s x", name)));
  AD_RETURN_IF_ERROR(reader.Literal(","));
  AD_ASSIGN_OR_RETURN(p.y, reader.Int(absl::StrFormat("%s y", name)));
  return p;
}

// N Key-to-Door instances in flat per-field arrays; one Step is one pass.
class KeyToDoorEnv final : public BatchedEnv {
 public:
  KeyToDoorEnv(SpaceSpec space, std::vector<std::string> task_ids,
               std::vector<KeyToDoorTask> tasks, uint64_t seed)
      : space_(std::move(space)),
        task_ids_(std::move(task_ids)),
        tasks_(std::move(tasks)),
        pos_(tasks_.size()),
        steps_(tasks_.size(), 0),
        progress_(tasks_.size(), kSeekingKey) {
    rngs_.reserve(tasks_.size());
    for (size_t i = 0; i < tasks_.size(); ++i) {
      rngs_.emplace_back(InstanceSeed(seed, i));
      StartEpisode(i);
    }
  }

  const SpaceSpec& space() const override { return space_; }
  int num_envs() const override { return static_cast<int>(tasks_.size()); }
  const std::string& task_id(int i) const override { return task_ids_.at(i); }

  absl::Status Reset(absl::Span<int32_t> obs) override {
    AD_RETURN_IF_ERROR(CheckSpanSize("obs (num_envs * obs_dim)", obs.size(),
                                     2 * tasks_.size()));
    for (size_t i = 0; i < tasks_.size(); ++i) {
      StartEpisode(i);
      obs[2 * i] = pos_[i].x;
      obs[2 * i + 1] = pos_[i].y;
    }
    return absl::OkStatus();
  }

  absl::Status Step(absl::Span<const int32_t> actions,
                    const StepOutput& out) override {
    AD_RETURN_IF_ERROR(CheckStepArgs(space_, num_envs(), actions, out));
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const GridPos p = ApplyGridAction(pos_[i], actions[i], kKeyToDoorSize);
      pos_[i] = p;
      float reward = 0.0f;
      if (progress_[i] == kSeekingKey) {
        if (p == tasks_[i].key) {
          reward = 1.0f;
          progress_[i] = kSeekingDoor;
        }
      } else if (progress_[i] == kSeekingDoor && p == tasks_[i].door) {
        reward = 1.0f;
        progress_[i] = kDone;
      }
      const bool done = ++steps_[i] == kKeyToDoorEpisodeLen;
      if (done) StartEpisode(i);
      out.obs[2 * i] = pos_[i].x;
      out.obs[2 * i + 1] = pos_[i].y;
      out.rewards[i] = reward;
      out.dones[i] = done ? 1 : 0;
    }
    return absl::OkStatus();
  }

  absl::Status ExpertActions(absl::Span<int32_t> actions) const override {
    AD_RETURN_IF_ERROR(CheckSpanSize("actions (one per instance)",
                                     actions.size(), tasks_.size()));
    for (size_t i = 0; i < tasks_.size(); ++i) {
      switch (progress_[i]) {
        case kSeekingKey:
          actions[i] = GreedyActionToward(pos_[i], tasks_[i].key);
          break;
        case kSeekingDoor:
          actions[i] = GreedyActionToward(pos_[i], tasks_[i].door);
          break;
        default:
          actions[i] = kNoOp;
      }
    }
    return absl::OkStatus();
  }

 private:
  void StartEpisode(size_t i) {
    const uint32_t cell = rngs_[i].NextBelow(kKeyToDoorSize * kKeyToDoorSize);
    pos_[i] = GridPos{static_cast<int32_t>(cell % kKeyToDoorSize),
                      static_cast<int32_t>(cell / kKeyToDoorSize)};
    steps_[i] = 0;
    progress_[i] = kSeekingKey;
  }

  const SpaceSpec space_;
  const std::vector<std::string> task_ids_;
  const std::vector<KeyToDoorTask> tasks_;
  std::vector<SplitMix64> rngs_;   // draws reset cells
  std::vector<GridPos> pos_;       // current cell
  std::vector<int32_t> steps_;     // steps taken in the current episode
  std::vector<uint8_t> progress_;  // a Progress value
};

}  // namespace

std::string FormatKeyToDoorTask(const KeyToDoorTask& task) {
  CHECK(OnGrid(task.key) && OnGrid(task.door))
      << "key or door is off the " << kFamily << " grid";
  return absl::StrCat(kFamily, "/key=", task.key.x, ",", task.key.y,
                      ";door=", task.door.x, ",", task.door.y);
}

absl::StatusOr<KeyToDoorTask> ParseKeyToDoorTask(std::string_view task_id) {
  TaskIdReader reader(task_id, kTaskForm);
  KeyToDoorTask task;
  AD_RETURN_IF_ERROR(reader.Literal(absl::StrCat(kFamily, "/key=")));
  AD_ASSIGN_OR_RETURN(task.key, ReadCell(reader, "key"));
  AD_RETURN_IF_ERROR(reader.Literal(";door="));
  AD_ASSIGN_OR_RETURN(task.door, ReadCell(reader, "door"));
  AD_RETURN_IF_ERROR(reader.End());
  const std::pair<const char*, int32_t> coords[] = {{"key x", task.key.x},
                                                    {"key y", task.key.y},
                                                    {"door x", task.door.x},
                                                    {"door y", task.door.y}};
  for (const auto& [field, value] : coords) {
    AD_RETURN_IF_ERROR(
        CheckTaskRange(task_id, field, value, 0, kKeyToDoorSize));
  }
  return task;
}

KeyToDoorFamily::KeyToDoorFamily() {
  space_.family = kFamily;
  space_.obs_dim = 2;
  space_.obs_high = {kKeyToDoorSize, kKeyToDoorSize};
  space_.num_actions = kNumGridActions;
  space_.episode_len = kKeyToDoorEpisodeLen;
  space_.description = absl::StrFormat(
      "%dx%d dark room with an invisible key and door, episode %d steps, "
      "every episode starts at a random cell; observation (x, y); r = 1 once "
      "on the first step that ends on the key, r = 1 once on the first later "
      "step that ends on the door while holding the key, else 0; %s",
      kKeyToDoorSize, kKeyToDoorSize, kKeyToDoorEpisodeLen, kGridActionsDoc);
}

std::vector<std::string> KeyToDoorFamily::AllTasks() const {
  std::vector<GridPos> cells;
  for (int32_t x = 0; x < kKeyToDoorSize; ++x) {
    for (int32_t y = 0; y < kKeyToDoorSize; ++y) cells.push_back({x, y});
  }
  std::vector<std::string> tasks;
  tasks.reserve(cells.size() * cells.size());
  for (const GridPos& key : cells) {
    for (const GridPos& door : cells) {
      tasks.push_back(FormatKeyToDoorTask({key, door}));
    }
  }
  return tasks;
}

absl::Status KeyToDoorFamily::ValidateTask(std::string_view task_id) const {
  return ParseKeyToDoorTask(task_id).status();
}

absl::StatusOr<double> KeyToDoorFamily::OptimalReturn(
    std::string_view task_id) const {
  AD_RETURN_IF_ERROR(ValidateTask(task_id));
  return 2.0;
}

absl::StatusOr<std::unique_ptr<BatchedEnv>> KeyToDoorFamily::Make(
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed) const {
  AD_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                      ExpandTaskIds(task_ids, num_envs));
  AD_ASSIGN_OR_RETURN(std::vector<KeyToDoorTask> tasks,
                      ParseTaskIds<KeyToDoorTask>(ids, ParseKeyToDoorTask));
  return std::make_unique<KeyToDoorEnv>(space_, std::move(ids),
                                        std::move(tasks), seed);
}

}  // namespace ad::envs
