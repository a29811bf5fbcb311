// Configuration of the AD learner: the transformer's shape and regularisers
// (ModelOptions), the optimisation (TrainOptions) and what data it asks the
// store for (DataOptions), bundled as a LearnerConfig.
//
// Presets are data: learner/presets/<name>.cfg files in a `key = value`
// format, one key per line, `#` starts a comment:
//
//   model.embed_dim = 64
//   model.obs_high = 9, 9
//   train.lr_peak = 3e-4
//
// A file only lists the keys it changes from the defaults below. Parsing
// rejects unknown keys, duplicate keys and malformed values with
// INVALID_ARGUMENT naming the key (and line); Validate() then checks ranges.
// FormatConfig() writes every key, so a checkpoint stores the exact config
// and ParseConfig(FormatConfig(c)) == c.
//
// The presets under learner/presets/ are compiled into the library as well
// (BuiltinPreset), so binaries find them wherever they run. Everything here is
// plain data: no LibTorch, thread-compatible.
#ifndef AD_LEARNER_CONFIG_H_
#define AD_LEARNER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ad::learner {

struct ModelOptions {
  // Observation encoder (model.h: MakeObservationEncoder): "discrete" (one
  // embedding table per observation component, summed) or "pixel" (the
  // Watermaze image encoder of Appendix L Table 3, pixel_encoder.h, over
  // frames of frame_height x frame_width x frame_channels values).
  std::string obs_encoder = "discrete";
  // int32 values per observation: at most 64 for "discrete"; for "pixel"
  // exactly frame_height * frame_width * frame_channels.
  int obs_dim = 2;
  // Component i in [0, obs_high[i]). A preset may give one value for every
  // component ("model.obs_high = 256"); parsing expands it to obs_dim
  // entries, and FormatConfig writes a list of equal values as one. For
  // "pixel" every entry is at most 256 (frames travel as bytes).
  std::vector<int32_t> obs_high = {9, 9};
  int num_actions = 5;             // actions 0 .. num_actions-1
  int context_len = 80;            // transitions (= tokens), the window length
  int embed_dim = 64;              // width of the residual stream
  int num_layers = 4;              // transformer blocks
  int num_heads = 4;               // attention heads; must divide embed_dim
  int ff_dim = 2048;               // hidden width of each block's MLP
  bool post_norm = true;           // LayerNorm after each residual add (paper)
  double dropout = 0.1;            // residual, MLP and embedding dropout
  double attention_dropout = 0.5;  // dropout on attention probabilities
  // Probability that an input token is replaced by a learned mask embedding
  // during training (never at inference). Targets are never masked.
  double sequence_mask_prob = 0.3;

  // The pixel encoder (obs_encoder = "pixel"; checked always, used only
  // then). Paper values (Appendix L, Table 3) by default. A frame is
  // row-major with channels interleaved: value (row, col, ch) is observation
  // component (row * frame_width + col) * frame_channels + ch.
  int frame_height = 72;   // pixel rows
  int frame_width = 96;    // pixel columns
  int frame_channels = 3;  // values per pixel (RGB)
  // Frames are first averaged over pixel_downsample x pixel_downsample
  // blocks (a floor-mode average pool; 1: none, as in the paper). A CPU
  // preset's knob: 4 makes a 72x96 frame 18x24 and the convs ~16x cheaper.
  int pixel_downsample = 1;
  // conv_blocks blocks of [Conv conv_channels x conv_kernel^2, stride
  // conv_stride, padding conv_kernel / 2, no bias; BatchNorm; ReLU; MaxPool
  // pool_size / pool_size; Dropout conv_dropout], then a Linear of
  // encoder_units units and ReLU, then a Linear to embed_dim.
  int conv_blocks = 3;
  int conv_channels = 128;
  int conv_kernel = 5;
  int conv_stride = 2;
  int pool_size = 2;               // max-pool kernel = stride
  double conv_dropout = 0.2;       // after each block, training only
  double batchnorm_decay = 0.999;  // running stats: s = decay s + (1-decay) x
  double batchnorm_eps = 1e-5;
  int encoder_units = 256;  // the final Linear layer of Table 3

  absl::Status Validate() const;
};

struct TrainOptions {
  int batch_size = 128;          // windows per step
  int64_t steps = 100000;        // total optimizer steps; the cosine horizon
  double label_smoothing = 0.0;  // alpha in [0, 1)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.99;
  double adam_eps = 1e-8;
  double weight_decay = 0.0;
  double grad_clip_norm = 1.0;  // global L2 norm; 0 disables clipping
  // Learning rate: linear warm-up from lr_init to lr_peak over warmup_steps,
  // then cosine decay from lr_peak to lr_final at `steps` (LrSchedule).
  double lr_init = 2e-6;
  double lr_peak = 3e-4;
  double lr_final = 2e-6;
  int64_t warmup_steps = 1000;
  int64_t checkpoint_every = 1000;  // steps between checkpoints; 0: only last
  int keep_checkpoints = 3;         // newest checkpoints kept on disk
  uint64_t seed = 1;                // init, dropout, masks, data order
  // How a step's gradients are computed: "fused" (learner/fused_step.h: a
  // hand-written forward and backward on CPU, about 3x faster for small
  // models; its dropout and mask draws differ from torch's) or "torch"
  // (LibTorch autograd). "fused" falls back to "torch" where it does not
  // apply (a CUDA device, the pixel encoder), so the default means fused on
  // CPU and torch on CUDA or for pixels: a pixel preset may say either, and
  // Trainer::engine() names the one in use.
  std::string engine = "fused";

  absl::Status Validate() const;
};

struct DataOptions {
  // Environment family to sample from; "a,b" trains one model on several
  // families, batches interleaved (learner/mixed_window_source.h).
  std::string env = "darkroom";
  // Always "train": the learner must never see a held-out task. The key
  // exists so that a preset saying anything else fails loudly.
  std::string split = "train";
  std::string source;      // source algorithm filter; empty: any
  int episode_stride = 1;  // keep every k-th episode (1: all)
  // Keep the m episodes up to each history's first reward and restart the
  // stride there (storage/window_sampler.h); 0: plain subsampling.
  int discovery_episodes = 0;
  // Windows from every phase of the stride (episodes p, p + k, ... for any
  // p < k), not only from episode 0's: k times more distinct windows.
  bool random_phase = false;
  int prefetch_batches = 4;      // batches the background thread keeps ready
  uint64_t min_transitions = 0;  // store waits until this much data exists

  absl::Status Validate() const;
};

struct LearnerConfig {
  std::string preset = "custom";  // name, for logs and checkpoint listings
  ModelOptions model;
  TrainOptions train;
  DataOptions data;

  absl::Status Validate() const;
};

// Parses `text` over the defaults and validates the result. `origin` names
// the file in error messages.
absl::StatusOr<LearnerConfig> ParseConfig(absl::string_view text,
                                          absl::string_view origin);

// Every key, one per line, in a fixed order.
std::string FormatConfig(const LearnerConfig& config);

// A preset compiled in from learner/presets/<name>.cfg; NOT_FOUND listing the
// known names otherwise.
absl::StatusOr<LearnerConfig> BuiltinPreset(absl::string_view name);
std::vector<std::string> BuiltinPresetNames();

// `name_or_path` is a built-in preset name, or a path to a .cfg file (it
// contains a '/' or ends in ".cfg"). The preset name becomes the file's stem
// unless the file sets `preset`.
absl::StatusOr<LearnerConfig> LoadConfig(absl::string_view name_or_path);

// Applies `key=value` overrides (e.g. from a --set flag) on top of `config`
// and validates the result.
absl::Status ApplyOverrides(const std::vector<std::string>& overrides,
                            LearnerConfig& config);

bool operator==(const LearnerConfig& a, const LearnerConfig& b);

}  // namespace ad::learner

#endif  // AD_LEARNER_CONFIG_H_
