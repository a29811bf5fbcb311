// Watermaze: our stand-in for DMLab Watermaze (Laskin et al. 2022, appendix
// L/M), a first-person 3D task with pixel observations. The agent swims in a
// circular pool and must find a hidden platform from reward, orienting
// itself by the coloured pattern of the pool wall (the distal cues).
//
// World (units: pool radii; x east, y north, angles counter-clockwise from
// +x): the pool is the disc of radius 1 around (0, 0); the agent's centre is
// kept within radius kWatermazeMaxRadius ("movement is clipped at the wall":
// a move that would leave that disc ends on its edge, on the same ray from
// the pool centre). The platform is a disc of radius kWatermazePlatformRadius
// that is never rendered.
//
// Rules: episode kWatermazeEpisodeLen = 50 steps. Every episode starts at the
// pool centre with a heading drawn uniformly from the kWatermazeHeadings = 12
// headings (multiples of 30 degrees) by the instance's own generator, seeded
// from (seed, instance index) in Make: one draw when the env is made (the
// first episode), one per Reset and one per automatic reset. r = 1 on every
// step that ends with the agent's centre in the platform disc (distance <=
// radius; staying on it included, as in Dark Room), else 0. Actions:
//   0 forward, 1 backward, 2 strafe left, 3 strafe right (each moves
//   kWatermazeStepLen), 4 rotate left (+30 degrees), 5 rotate right (-30
//   degrees), 6 forward then rotate left, 7 forward then rotate right.
// Headings are kept as an index in [0, 12), so 12 rotations in one direction
// return exactly to the same pose and the same frame.
//
// Observation: the agent's view, kWatermazeHeight x kWatermazeWidth RGB
// pixels (72 x 96 x 3, row-major, row 0 at the top, channels interleaved),
// rendered by a ray-caster: a pinhole camera at height kWatermazeEyeHeight
// with a 90 degree horizontal field of view (square pixels) looks at the pool
// wall (height kWatermazeWallHeight) whose colour depends only on the angle
// of the point hit: kWatermazeCueSegments segments of 45 degrees, each a
// colour of kWatermazeCuePalette, separated by dark bands (the first and last
// kWatermazeBandFraction of every segment). Below the wall is the water
// (floor), above it the sky; wall and water colours are dimmed by the depth
// d of what they show, channel = round(base / (1 + kWatermazeFog * d)), the
// sky is not. The wall's depth comes from an exact ray-circle intersection
// per column; floor and sky colours depend only on the row, so a wall-less
// frame is precomputed and copied, then each column's wall rows are drawn
// over it.
//
// Wire and store: in the C++ APIs a frame is obs_dim = 72 * 96 * 3 int32
// values in [0, 256) (obs_high 256 each); the space sets obs_bytes, so the
// env server (StepBatch.obs_u8), actors' chunks and the store's reads
// (TransitionBatch.obs_u8) carry one byte per value and the store keeps
// byte chunks: 20742 B per transition on the wire vs 30755 as int32
// varints, 417 B on disk (LZ4) vs 917, appends 5.6-6.9x and samples
// 1.4-2.4x faster (ad_bench_store --mode=pixels, services/store/README.md).
//
// Task ids: "watermaze/platform=X,Y" with X, Y grid indices in [0, 31): the
// platform centre is ((X - 15) * 0.05, (Y - 15) * 0.05), and only centres at
// distance 0.25 .. 0.75 from the pool centre are tasks (5 <= |(X-15, Y-15)|
// <= 15 in grid units: never under the start, always inside the pool), 640
// tasks in all. The expert is a greedy shortest-path controller: it takes
// any action that lands on the platform, rotates in place once on it (so it
// keeps collecting reward), and otherwise takes the action after which its
// estimate of the steps to go is smallest (turn toward the platform until
// one of its four moves points within 15 degrees of it, then swim; forward +
// rotate does both at once). It arrives on every task from every start
// heading, at most 2 steps later than a straight swim at full speed would.
// OptimalReturn is the expert's expected return: the mean, over the 12
// equally likely start headings, of the return of the expert simulated from
// the centre; a lower bound on the true optimum (and within 2 of it).
//
// Cost, measured on the 2-core development machine (load ~1.8 from other
// work), `scripts/bench.sh envs` (build/bin/ad_bench_envs): a step of 16
// instances in one BatchedEnv, int32 frames, ~1.2e5 instance-steps/s; the
// same 16 as one-instance envs ~1.2e5/s (rendering dominates, so batching
// saves nothing per step); WatermazeEnv::RenderFrames into uint8 ~1.8e5
// frames/s (~5.5 us per frame), all on one core; about half that at load ~4.
// One million source steps thus take ~10 s of one core. To look at frames:
//   build/bin/adctl env frames --env=watermaze --out=frames.png
//     [--rows=3 --frames=8 --frame_stride=2]
// (docs/results/watermaze_frames.png was made with those settings).
#ifndef AD_ENVS_WATERMAZE_H_
#define AD_ENVS_WATERMAZE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/rng.h"
#include "envs/env.h"

namespace ad::envs {

inline constexpr int kWatermazeHeight = 72;   // pixel rows
inline constexpr int kWatermazeWidth = 96;    // pixel columns
inline constexpr int kWatermazeChannels = 3;  // R, G, B
inline constexpr int kWatermazeFrameBytes =
    kWatermazeHeight * kWatermazeWidth * kWatermazeChannels;
inline constexpr int kWatermazeEpisodeLen = 50;  // steps per episode
inline constexpr int kWatermazeNumActions = 8;
inline constexpr int kWatermazeHeadings = 12;  // 30 degrees per rotate step

// Geometry, in pool radii.
inline constexpr double kWatermazeMaxRadius = 0.95;  // agent centre bound
inline constexpr double kWatermazeStepLen = 0.1;     // one move
inline constexpr double kWatermazePlatformRadius = 0.12;
inline constexpr double kWatermazeEyeHeight = 0.15;  // above the water
inline constexpr double kWatermazeWallHeight = 0.5;  // above the water
inline constexpr double kWatermazeFog = 0.35;        // dimming per unit depth

// Task grid: platform centre = (index - kWatermazeGridCentre) * spacing.
inline constexpr int32_t kWatermazeGridSize = 31;  // indices in [0, 31)
inline constexpr int32_t kWatermazeGridCentre = 15;
inline constexpr double kWatermazeGridSpacing = 0.05;
inline constexpr int32_t kWatermazeMinGridRadius = 5;   // 0.25 pool radii
inline constexpr int32_t kWatermazeMaxGridRadius = 15;  // 0.75 pool radii

// The wall's distal cues: segment s covers angles [s, s + 1) * 45 degrees.
inline constexpr int kWatermazeCueSegments = 8;
inline constexpr double kWatermazeBandFraction = 0.06;
using Rgb = std::array<uint8_t, 3>;
inline constexpr std::array<Rgb, kWatermazeCueSegments> kWatermazeCuePalette = {
    {{210, 40, 40},      // red
     {230, 200, 40},     // yellow
     {40, 170, 70},      // green
     {50, 80, 210},      // blue
     {235, 125, 30},     // orange
     {40, 200, 210},     // cyan
     {140, 50, 180},     // purple
     {225, 225, 225}}};  // white
inline constexpr Rgb kWatermazeBandColour = {25, 25, 25};
inline constexpr Rgb kWatermazeWaterColour = {40, 100, 150};
inline constexpr Rgb kWatermazeSkyColour = {175, 195, 215};

enum WatermazeAction : int32_t {
  kSwimForward = 0,
  kSwimBackward = 1,
  kStrafeLeft = 2,
  kStrafeRight = 3,
  kRotateLeft = 4,
  kRotateRight = 5,
  kForwardRotateLeft = 6,
  kForwardRotateRight = 7,
};

// Where the agent is: its centre and its heading index (angle = heading *
// 30 degrees; 0 faces +x, rotating left adds 1).
struct WatermazePose {
  double x = 0.0;
  double y = 0.0;
  int32_t heading = 0;  // in [0, kWatermazeHeadings)
};

// A task: the platform's cell on the task grid.
struct WatermazeTask {
  int32_t x = 0;  // grid index in [0, kWatermazeGridSize)
  int32_t y = 0;
};

struct WatermazePoint {
  double x = 0.0;
  double y = 0.0;
};

// "watermaze/platform=20,9". Dies if the cell is not a task.
std::string FormatWatermazeTask(const WatermazeTask& task);

// INVALID_ARGUMENT if malformed, NOT_FOUND if the cell is off the grid or
// outside the task annulus.
absl::StatusOr<WatermazeTask> ParseWatermazeTask(std::string_view task_id);

// The platform centre of a task, in pool radii.
WatermazePoint WatermazePlatformCentre(const WatermazeTask& task);

// The pose after `action`. Dies unless 0 <= action < kWatermazeNumActions
// and 0 <= pose.heading < kWatermazeHeadings.
WatermazePose ApplyWatermazeAction(const WatermazePose& pose, int32_t action);

// True when the agent's centre lies in the platform disc.
bool OnWatermazePlatform(const WatermazePose& pose, WatermazePoint platform);

// The expert's action from `pose` (see the header comment).
int32_t WatermazeExpertAction(const WatermazePose& pose,
                              WatermazePoint platform);

// The expert's expected return from the centre (see the header comment).
double WatermazeOptimalReturn(const WatermazeTask& task);

// Renders the view from `pose` into `frame` (kWatermazeFrameBytes bytes,
// HxWx3 row-major). Thread-safe. Dies if `frame` has another size, the
// heading is out of range or the pose lies beyond kWatermazeMaxRadius.
void RenderWatermazeFrame(const WatermazePose& pose, absl::Span<uint8_t> frame);

// N Watermaze instances; Step moves all of them, then renders all frames.
// Besides the BatchedEnv interface it exposes the poses (for tests and tools)
// and a direct uint8 render of every instance's current view.
class WatermazeEnv final : public BatchedEnv {
 public:
  WatermazeEnv(SpaceSpec space, std::vector<std::string> task_ids,
               const std::vector<WatermazeTask>& tasks, uint64_t seed);

  const SpaceSpec& space() const override { return space_; }
  int num_envs() const override { return static_cast<int>(platforms_.size()); }
  const std::string& task_id(int i) const override { return task_ids_.at(i); }
  absl::Status Reset(absl::Span<int32_t> obs) override;
  absl::Status Step(absl::Span<const int32_t> actions,
                    const StepOutput& out) override;
  absl::Status ExpertActions(absl::Span<int32_t> actions) const override;

  // The current pose of instance i (dies if i is out of range).
  const WatermazePose& pose(int i) const { return poses_.at(i); }

  // Every instance's current view, num_envs * kWatermazeFrameBytes bytes.
  // INVALID_ARGUMENT if `frames` has another size.
  absl::Status RenderFrames(absl::Span<uint8_t> frames) const;

 private:
  void StartEpisode(size_t i);

  const SpaceSpec space_;
  const std::vector<std::string> task_ids_;
  std::vector<WatermazePoint> platforms_;
  std::vector<WatermazePose> poses_;
  std::vector<int32_t> steps_;    // steps taken in the current episode
  std::vector<SplitMix64> rngs_;  // draws start headings
};

class WatermazeFamily : public EnvFamily {
 public:
  WatermazeFamily();

  const SpaceSpec& space() const override { return space_; }
  // x-major, then y.
  std::vector<std::string> AllTasks() const override;
  absl::Status ValidateTask(std::string_view task_id) const override;
  absl::StatusOr<double> OptimalReturn(std::string_view task_id) const override;
  absl::StatusOr<std::unique_ptr<BatchedEnv>> Make(
      absl::Span<const std::string> task_ids, int num_envs,
      uint64_t seed) const override;
  // Make with the concrete type, for callers of RenderFrames and pose().
  absl::StatusOr<std::unique_ptr<WatermazeEnv>> MakeWatermaze(
      absl::Span<const std::string> task_ids, int num_envs,
      uint64_t seed) const;

 private:
  SpaceSpec space_;
};

}  // namespace ad::envs

#endif  // AD_ENVS_WATERMAZE_H_
