#include "envs/watermaze.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
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
#include "envs/task_id.h"
#include "glog/logging.h"

namespace ad::envs {
namespace {

constexpr char kFamily[] = "watermaze";
constexpr char kTaskForm[] = "watermaze/platform=X,Y";
constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kHeadingAngle = kTwoPi / kWatermazeHeadings;  // radians

// The unit vector of heading h, from a table built once.
struct Direction {
  double x;
  double y;
};
const Direction& HeadingDirection(int32_t heading) {
  static const std::array<Direction, kWatermazeHeadings> table = [] {
    std::array<Direction, kWatermazeHeadings> t;
    for (int h = 0; h < kWatermazeHeadings; ++h) {
      t[h] =
          Direction{std::cos(kHeadingAngle * h), std::sin(kHeadingAngle * h)};
    }
    return t;
  }();
  return table[heading];
}

int32_t Turn(int32_t heading, int32_t by) {
  return (heading + by + kWatermazeHeadings) % kWatermazeHeadings;
}

bool IsTask(const WatermazeTask& task) {
  if (task.x < 0 || task.x >= kWatermazeGridSize || task.y < 0 ||
      task.y >= kWatermazeGridSize) {
    return false;
  }
  const int32_t dx = task.x - kWatermazeGridCentre;
  const int32_t dy = task.y - kWatermazeGridCentre;
  const int32_t r2 = dx * dx + dy * dy;
  return r2 >= kWatermazeMinGridRadius * kWatermazeMinGridRadius &&
         r2 <= kWatermazeMaxGridRadius * kWatermazeMaxGridRadius;
}

// The ray-caster. Everything that depends only on the pixel grid is
// precomputed once (the whole wall-less frame among it); per frame, each
// column costs one ray-circle intersection and one atan2, and the frame one
// block copy plus the wall's pixels.
class Renderer {
 public:
  Renderer() {
    constexpr double half_width = kWatermazeWidth / 2.0;
    for (int c = 0; c < kWatermazeWidth; ++c) {
      column_u_[c] = (c + 0.5 - half_width) / half_width;  // tan(45°) = 1
    }
    for (int r = 0; r < kWatermazeHeight; ++r) {
      const double v = (kWatermazeHeight / 2.0 - (r + 0.5)) / half_width;
      // Above the horizon: sky, undimmed; below: water at depth eye / -v.
      background_[r] =
          v > 0 ? kWatermazeSkyColour
                : Dim(kWatermazeWaterColour, kWatermazeEyeHeight / -v);
      for (int col = 0; col < kWatermazeWidth; ++col) {
        std::copy(background_[r].begin(), background_[r].end(),
                  background_frame_.begin() +
                      (r * kWatermazeWidth + col) * kWatermazeChannels);
      }
    }
  }

  // Writes the frame of `pose` to out[0 .. kWatermazeFrameBytes).
  template <typename T>
  void Render(const WatermazePose& pose, T* out) const {
    const Direction& f = HeadingDirection(pose.heading);
    const double c = pose.x * pose.x + pose.y * pose.y - 1.0;  // < 0 inside
    std::array<Rgb, kWatermazeWidth> wall;
    std::array<int, kWatermazeWidth> wall_begin, wall_end;  // rows [begin, end)
    for (int col = 0; col < kWatermazeWidth; ++col) {
      const double u = column_u_[col];
      // Ray direction = forward + u * right, right = (f.y, -f.x); its
      // forward component is 1, so the ray parameter t is the camera depth.
      const double dx = f.x + u * f.y;
      const double dy = f.y - u * f.x;
      const double a = 1.0 + u * u;
      const double b = pose.x * dx + pose.y * dy;
      const double t = (-b + std::sqrt(b * b - a * c)) / a;
      const double hit_x = pose.x + t * dx;
      const double hit_y = pose.y + t * dy;
      wall[col] = Dim(WallColour(std::atan2(hit_y, hit_x)), t * std::sqrt(a));
      // Rows whose v = (35.5 - r) / 48 lies in [-eye / t, (wall - eye) / t].
      constexpr double rows_per_v = kWatermazeWidth / 2.0;
      constexpr double mid = kWatermazeHeight / 2.0 - 0.5;
      const double top_v = (kWatermazeWallHeight - kWatermazeEyeHeight) / t;
      const double bottom_v = -kWatermazeEyeHeight / t;
      wall_begin[col] =
          std::clamp(static_cast<int>(std::ceil(mid - rows_per_v * top_v)), 0,
                     kWatermazeHeight);
      wall_end[col] = std::clamp(
          static_cast<int>(std::floor(mid - rows_per_v * bottom_v)) + 1, 0,
          kWatermazeHeight);
    }
    // The background (sky and water rows) first, then each column's wall.
    std::copy(background_frame_.begin(), background_frame_.end(), out);
    constexpr int row_stride = kWatermazeWidth * kWatermazeChannels;
    for (int col = 0; col < kWatermazeWidth; ++col) {
      const Rgb rgb = wall[col];
      T* p = out + wall_begin[col] * row_stride + col * kWatermazeChannels;
      for (int r = wall_begin[col]; r < wall_end[col]; ++r, p += row_stride) {
        p[0] = rgb[0];
        p[1] = rgb[1];
        p[2] = rgb[2];
      }
    }
  }

 private:
  static Rgb Dim(const Rgb& base, double depth) {
    const double shade = 1.0 / (1.0 + kWatermazeFog * depth);
    return Rgb{static_cast<uint8_t>(base[0] * shade + 0.5),
               static_cast<uint8_t>(base[1] * shade + 0.5),
               static_cast<uint8_t>(base[2] * shade + 0.5)};
  }

  // The wall's colour at polar angle `angle` (radians, any range).
  static const Rgb& WallColour(double angle) {
    if (angle < 0) angle += kTwoPi;
    const double position = angle * (kWatermazeCueSegments / kTwoPi);
    const int segment =
        std::min(static_cast<int>(position), kWatermazeCueSegments - 1);
    const double within = position - segment;
    if (within < kWatermazeBandFraction ||
        within > 1.0 - kWatermazeBandFraction) {
      return kWatermazeBandColour;
    }
    return kWatermazeCuePalette[segment];
  }

  std::array<double, kWatermazeWidth> column_u_;  // right offset per column
  std::array<Rgb, kWatermazeHeight> background_;  // sky or water per row
  std::array<uint8_t, kWatermazeFrameBytes> background_frame_;  // no wall
};

const Renderer& TheRenderer() {
  static const Renderer* const renderer = new Renderer;
  return *renderer;
}

}  // namespace

std::string FormatWatermazeTask(const WatermazeTask& task) {
  CHECK(IsTask(task)) << "(" << task.x << "," << task.y
                      << ") is not a watermaze platform cell";
  return absl::StrCat(kFamily, "/platform=", task.x, ",", task.y);
}

absl::StatusOr<WatermazeTask> ParseWatermazeTask(std::string_view task_id) {
  TaskIdReader reader(task_id, kTaskForm);
  AD_RETURN_IF_ERROR(reader.Literal(absl::StrCat(kFamily, "/platform=")));
  WatermazeTask task;
  AD_ASSIGN_OR_RETURN(task.x, reader.Int("platform x"));
  AD_RETURN_IF_ERROR(reader.Literal(","));
  AD_ASSIGN_OR_RETURN(task.y, reader.Int("platform y"));
  AD_RETURN_IF_ERROR(reader.End());
  AD_RETURN_IF_ERROR(
      CheckTaskRange(task_id, "platform x", task.x, 0, kWatermazeGridSize));
  AD_RETURN_IF_ERROR(
      CheckTaskRange(task_id, "platform y", task.y, 0, kWatermazeGridSize));
  if (!IsTask(task)) {
    return absl::NotFoundError(absl::StrFormat(
        "task id \"%s\" names no task: the platform cell lies %.3f grid cells "
        "from the centre (%d,%d), outside [%d, %d]",
        EscapeForMessage(task_id),
        std::hypot(task.x - kWatermazeGridCentre,
                   task.y - kWatermazeGridCentre),
        kWatermazeGridCentre, kWatermazeGridCentre, kWatermazeMinGridRadius,
        kWatermazeMaxGridRadius));
  }
  return task;
}

WatermazePoint WatermazePlatformCentre(const WatermazeTask& task) {
  return WatermazePoint{
      (task.x - kWatermazeGridCentre) * kWatermazeGridSpacing,
      (task.y - kWatermazeGridCentre) * kWatermazeGridSpacing};
}

WatermazePose ApplyWatermazeAction(const WatermazePose& pose, int32_t action) {
  CHECK(action >= 0 && action < kWatermazeNumActions)
      << "watermaze action " << action << " is outside [0, "
      << kWatermazeNumActions << ")";
  CHECK(pose.heading >= 0 && pose.heading < kWatermazeHeadings)
      << "watermaze heading " << pose.heading << " is out of range";
  const Direction& f = HeadingDirection(pose.heading);
  double along = 0.0;  // move along the heading
  double left = 0.0;   // move to the left of it
  int32_t turn = 0;
  switch (action) {
    case kSwimForward:
      along = kWatermazeStepLen;
      break;
    case kSwimBackward:
      along = -kWatermazeStepLen;
      break;
    case kStrafeLeft:
      left = kWatermazeStepLen;
      break;
    case kStrafeRight:
      left = -kWatermazeStepLen;
      break;
    case kRotateLeft:
      turn = 1;
      break;
    case kRotateRight:
      turn = -1;
      break;
    case kForwardRotateLeft:
      along = kWatermazeStepLen;
      turn = 1;
      break;
    case kForwardRotateRight:
      along = kWatermazeStepLen;
      turn = -1;
      break;
  }
  WatermazePose next = pose;
  next.x += along * f.x - left * f.y;
  next.y += along * f.y + left * f.x;
  const double r = std::hypot(next.x, next.y);
  if (r > kWatermazeMaxRadius) {
    next.x *= kWatermazeMaxRadius / r;
    next.y *= kWatermazeMaxRadius / r;
  }
  next.heading = Turn(pose.heading, turn);
  return next;
}

bool OnWatermazePlatform(const WatermazePose& pose, WatermazePoint platform) {
  const double dx = pose.x - platform.x;
  const double dy = pose.y - platform.y;
  return dx * dx + dy * dy <=
         kWatermazePlatformRadius * kWatermazePlatformRadius;
}

namespace {

// The expert's estimate of the steps still needed from `pose`: for the
// best of the four moves (forward, left, backward, right), the rotations
// that point it nearest the platform's bearing plus the remaining distance
// over the progress one move makes at the angle it is then off by.
double StepsToGo(const WatermazePose& pose, WatermazePoint platform) {
  const double dx = platform.x - pose.x;
  const double dy = platform.y - pose.y;
  const double distance = std::sqrt(dx * dx + dy * dy);
  const double gap = std::max(0.0, distance - kWatermazePlatformRadius);
  // The bearing in heading units, relative to the heading: in [0, 12).
  double relative = std::atan2(dy, dx) / kHeadingAngle - pose.heading;
  relative -= kWatermazeHeadings * std::floor(relative / kWatermazeHeadings);
  double best = std::numeric_limits<double>::infinity();
  for (int32_t offset = 0; offset < kWatermazeHeadings;
       offset += kWatermazeHeadings / 4) {
    // Rotations k (in -1 .. 1 suffice with moves a quarter turn apart)
    // leave the move off by |relative - offset - k| headings.
    for (int32_t k = -2; k <= 2; ++k) {
      double off = relative - offset - k;
      off -= kWatermazeHeadings * std::round(off / kWatermazeHeadings);
      const double cosine = std::cos(off * kHeadingAngle);
      if (cosine <= 0.5) continue;
      best = std::min(best, std::abs(k) + gap / (kWatermazeStepLen * cosine));
    }
  }
  return best;
}

}  // namespace

int32_t WatermazeExpertAction(const WatermazePose& pose,
                              WatermazePoint platform) {
  if (OnWatermazePlatform(pose, platform)) return kRotateLeft;  // stays put
  for (int32_t action : {kSwimForward, kForwardRotateLeft, kForwardRotateRight,
                         kStrafeLeft, kStrafeRight, kSwimBackward}) {
    if (OnWatermazePlatform(ApplyWatermazeAction(pose, action), platform)) {
      return action;
    }
  }
  // Otherwise the action after which the fewest steps seem to remain (the
  // first such action on a tie).
  int32_t best_action = 0;
  double best = std::numeric_limits<double>::infinity();
  for (int32_t action = 0; action < kWatermazeNumActions; ++action) {
    const double steps =
        StepsToGo(ApplyWatermazeAction(pose, action), platform);
    if (steps < best - 1e-9) {
      best = steps;
      best_action = action;
    }
  }
  return best_action;
}

double WatermazeOptimalReturn(const WatermazeTask& task) {
  const WatermazePoint platform = WatermazePlatformCentre(task);
  double total = 0.0;
  for (int32_t heading = 0; heading < kWatermazeHeadings; ++heading) {
    WatermazePose pose{0.0, 0.0, heading};
    for (int t = 0; t < kWatermazeEpisodeLen; ++t) {
      pose = ApplyWatermazeAction(pose, WatermazeExpertAction(pose, platform));
      if (OnWatermazePlatform(pose, platform)) total += 1.0;
    }
  }
  return total / kWatermazeHeadings;
}

void RenderWatermazeFrame(const WatermazePose& pose,
                          absl::Span<uint8_t> frame) {
  CHECK_EQ(frame.size(), static_cast<size_t>(kWatermazeFrameBytes))
      << "a watermaze frame is " << kWatermazeHeight << "x" << kWatermazeWidth
      << "x" << kWatermazeChannels << " bytes";
  CHECK(pose.heading >= 0 && pose.heading < kWatermazeHeadings)
      << "watermaze heading " << pose.heading << " is out of range";
  CHECK_LE(std::hypot(pose.x, pose.y), kWatermazeMaxRadius + 1e-9)
      << "the pose lies outside the pool";
  TheRenderer().Render(pose, frame.data());
}

WatermazeEnv::WatermazeEnv(SpaceSpec space, std::vector<std::string> task_ids,
                           const std::vector<WatermazeTask>& tasks,
                           uint64_t seed)
    : space_(std::move(space)),
      task_ids_(std::move(task_ids)),
      poses_(tasks.size()),
      steps_(tasks.size(), 0) {
  platforms_.reserve(tasks.size());
  rngs_.reserve(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    platforms_.push_back(WatermazePlatformCentre(tasks[i]));
    rngs_.emplace_back(InstanceSeed(seed, i));
    StartEpisode(i);
  }
}

void WatermazeEnv::StartEpisode(size_t i) {
  poses_[i] = WatermazePose{
      0.0, 0.0, static_cast<int32_t>(rngs_[i].NextBelow(kWatermazeHeadings))};
  steps_[i] = 0;
}

absl::Status WatermazeEnv::Reset(absl::Span<int32_t> obs) {
  AD_RETURN_IF_ERROR(CheckSpanSize("obs (num_envs * obs_dim)", obs.size(),
                                   platforms_.size() * kWatermazeFrameBytes));
  const Renderer& renderer = TheRenderer();
  for (size_t i = 0; i < platforms_.size(); ++i) {
    StartEpisode(i);
    renderer.Render(poses_[i], obs.data() + i * kWatermazeFrameBytes);
  }
  return absl::OkStatus();
}

absl::Status WatermazeEnv::Step(absl::Span<const int32_t> actions,
                                const StepOutput& out) {
  AD_RETURN_IF_ERROR(CheckStepArgs(space_, num_envs(), actions, out));
  for (size_t i = 0; i < platforms_.size(); ++i) {
    poses_[i] = ApplyWatermazeAction(poses_[i], actions[i]);
    out.rewards[i] =
        OnWatermazePlatform(poses_[i], platforms_[i]) ? 1.0f : 0.0f;
    const bool done = ++steps_[i] == kWatermazeEpisodeLen;
    if (done) StartEpisode(i);
    out.dones[i] = done ? 1 : 0;
  }
  const Renderer& renderer = TheRenderer();
  for (size_t i = 0; i < platforms_.size(); ++i) {
    renderer.Render(poses_[i], out.obs.data() + i * kWatermazeFrameBytes);
  }
  return absl::OkStatus();
}

absl::Status WatermazeEnv::ExpertActions(absl::Span<int32_t> actions) const {
  AD_RETURN_IF_ERROR(CheckSpanSize("actions (one per instance)", actions.size(),
                                   platforms_.size()));
  for (size_t i = 0; i < platforms_.size(); ++i) {
    actions[i] = WatermazeExpertAction(poses_[i], platforms_[i]);
  }
  return absl::OkStatus();
}

absl::Status WatermazeEnv::RenderFrames(absl::Span<uint8_t> frames) const {
  AD_RETURN_IF_ERROR(CheckSpanSize("frames (num_envs * frame bytes)",
                                   frames.size(),
                                   platforms_.size() * kWatermazeFrameBytes));
  const Renderer& renderer = TheRenderer();
  for (size_t i = 0; i < platforms_.size(); ++i) {
    renderer.Render(poses_[i], frames.data() + i * kWatermazeFrameBytes);
  }
  return absl::OkStatus();
}

WatermazeFamily::WatermazeFamily() {
  space_.family = kFamily;
  space_.obs_dim = kWatermazeFrameBytes;
  space_.obs_high.assign(kWatermazeFrameBytes, 256);
  space_.num_actions = kWatermazeNumActions;
  space_.episode_len = kWatermazeEpisodeLen;
  space_.obs_bytes = true;
  space_.description = absl::StrFormat(
      "first-person view of a circular pool (radius 1) with a hidden platform "
      "(radius %.2f); observation %dx%dx%d RGB pixels (row-major, one int32 "
      "per channel value in [0, 256)); episode %d steps, every episode starts "
      "at the centre with one of %d headings drawn from the seed; r = 1 on "
      "every step that ends on the platform, else 0; actions: 0 forward, 1 "
      "backward, 2 strafe left, 3 strafe right (%.1f each), 4 rotate left, 5 "
      "rotate right (30 degrees), 6 forward + rotate left, 7 forward + "
      "rotate right; moves are clipped at radius %.2f",
      kWatermazePlatformRadius, kWatermazeHeight, kWatermazeWidth,
      kWatermazeChannels, kWatermazeEpisodeLen, kWatermazeHeadings,
      kWatermazeStepLen, kWatermazeMaxRadius);
}

std::vector<std::string> WatermazeFamily::AllTasks() const {
  std::vector<std::string> tasks;
  for (int32_t x = 0; x < kWatermazeGridSize; ++x) {
    for (int32_t y = 0; y < kWatermazeGridSize; ++y) {
      if (IsTask({x, y})) tasks.push_back(FormatWatermazeTask({x, y}));
    }
  }
  return tasks;
}

absl::Status WatermazeFamily::ValidateTask(std::string_view task_id) const {
  return ParseWatermazeTask(task_id).status();
}

absl::StatusOr<double> WatermazeFamily::OptimalReturn(
    std::string_view task_id) const {
  AD_ASSIGN_OR_RETURN(const WatermazeTask task, ParseWatermazeTask(task_id));
  return WatermazeOptimalReturn(task);
}

absl::StatusOr<std::unique_ptr<BatchedEnv>> WatermazeFamily::Make(
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed) const {
  AD_ASSIGN_OR_RETURN(std::unique_ptr<WatermazeEnv> env,
                      MakeWatermaze(task_ids, num_envs, seed));
  return std::unique_ptr<BatchedEnv>(std::move(env));
}

absl::StatusOr<std::unique_ptr<WatermazeEnv>> WatermazeFamily::MakeWatermaze(
    absl::Span<const std::string> task_ids, int num_envs, uint64_t seed) const {
  AD_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                      ExpandTaskIds(task_ids, num_envs));
  AD_ASSIGN_OR_RETURN(std::vector<WatermazeTask> tasks,
                      ParseTaskIds<WatermazeTask>(ids, ParseWatermazeTask));
  return std::make_unique<WatermazeEnv>(space_, std::move(ids), tasks, seed);
}

}  // namespace ad::envs
