#include "learner/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/preset_text.h"
#include "common/status_macros.h"
#include "learner/presets_embedded.h"

namespace ad::learner {
namespace {

// One configurable key: how to parse a value into a config and print it.
struct Field {
  std::string key;
  std::function<absl::Status(absl::string_view, LearnerConfig&)> parse;
  std::function<std::string(const LearnerConfig&)> format;
};

absl::Status BadValue(absl::string_view key, absl::string_view value,
                      absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      "key '", key, "': cannot parse '", value, "' as ", expected));
}

// Builders for the field table. `get` returns a reference to the member.
template <typename Get>
Field MakeInt(std::string key, Get get) {
  Field f;
  f.key = key;
  f.parse = [key, get](absl::string_view v, LearnerConfig& c) -> absl::Status {
    auto& field = get(c);
    int64_t x = 0;
    if (!absl::SimpleAtoi(v, &x)) return BadValue(key, v, "an integer");
    using T = std::decay_t<decltype(field)>;
    if (std::is_unsigned_v<T> && x < 0) {
      return BadValue(key, v, "a non-negative integer");
    }
    // A value the field cannot hold is an error, never wrapped into another
    // (4294967360 into an int was 64).
    if constexpr (sizeof(T) < sizeof(int64_t)) {
      if (x < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          x > static_cast<int64_t>(std::numeric_limits<T>::max())) {
        return BadValue(
            key, v,
            absl::StrCat("an integer in [", std::numeric_limits<T>::min(), ", ",
                         std::numeric_limits<T>::max(), "]"));
      }
    }
    field = static_cast<T>(x);
    return absl::OkStatus();
  };
  f.format = [get](const LearnerConfig& c) { return absl::StrCat(get(c)); };
  return f;
}

template <typename Get>
Field MakeDouble(std::string key, Get get) {
  Field f;
  f.key = key;
  f.parse = [key, get](absl::string_view v, LearnerConfig& c) -> absl::Status {
    double x = 0;
    if (!absl::SimpleAtod(v, &x) || !std::isfinite(x)) {
      return BadValue(key, v, "a finite number");
    }
    get(c) = x;
    return absl::OkStatus();
  };
  f.format = [get](const LearnerConfig& c) {
    // %.17g round-trips every double.
    std::ostringstream out;
    out.precision(17);
    out << get(c);
    return out.str();
  };
  return f;
}

template <typename Get>
Field MakeBool(std::string key, Get get) {
  Field f;
  f.key = key;
  f.parse = [key, get](absl::string_view v, LearnerConfig& c) -> absl::Status {
    bool x = false;
    if (!absl::SimpleAtob(v, &x)) return BadValue(key, v, "true or false");
    get(c) = x;
    return absl::OkStatus();
  };
  f.format = [get](const LearnerConfig& c) {
    return std::string(get(c) ? "true" : "false");
  };
  return f;
}

template <typename Get>
Field MakeString(std::string key, Get get) {
  Field f;
  f.key = key;
  f.parse = [get](absl::string_view v, LearnerConfig& c) -> absl::Status {
    get(c) = std::string(v);
    return absl::OkStatus();
  };
  f.format = [get](const LearnerConfig& c) { return get(c); };
  return f;
}

template <typename Get>
Field MakeIntList(std::string key, Get get) {
  Field f;
  f.key = key;
  f.parse = [key, get](absl::string_view v, LearnerConfig& c) -> absl::Status {
    std::vector<int32_t> values;
    for (absl::string_view part : absl::StrSplit(v, ',')) {
      part = absl::StripAsciiWhitespace(part);
      int32_t x = 0;
      if (!absl::SimpleAtoi(part, &x)) {
        return BadValue(key, v, "a comma-separated list of integers");
      }
      values.push_back(x);
    }
    get(c) = std::move(values);
    return absl::OkStatus();
  };
  f.format = [get](const LearnerConfig& c) {
    const auto& values = get(c);
    // A list of equal values is written as one (a 72x96x3 frame's 20736
    // bounds of 256 are "256"); parsing expands it again (ExpandLists).
    if (values.size() > 1 &&
        std::all_of(values.begin(), values.end(),
                    [&](int32_t v) { return v == values.front(); })) {
      return absl::StrCat(values.front());
    }
    return absl::StrJoin(values, ", ");
  };
  return f;
}

// A generic lambda, so that one accessor serves const and non-const configs.
#define AD_MEMBER(path) \
  [](auto& c) -> auto& { return c.path; }

const std::vector<Field>& Fields() {
  static const auto* fields = new std::vector<Field>{
      MakeString("preset", AD_MEMBER(preset)),
      MakeString("model.obs_encoder", AD_MEMBER(model.obs_encoder)),
      MakeInt("model.obs_dim", AD_MEMBER(model.obs_dim)),
      MakeIntList("model.obs_high", AD_MEMBER(model.obs_high)),
      MakeInt("model.num_actions", AD_MEMBER(model.num_actions)),
      MakeInt("model.context_len", AD_MEMBER(model.context_len)),
      MakeInt("model.embed_dim", AD_MEMBER(model.embed_dim)),
      MakeInt("model.num_layers", AD_MEMBER(model.num_layers)),
      MakeInt("model.num_heads", AD_MEMBER(model.num_heads)),
      MakeInt("model.ff_dim", AD_MEMBER(model.ff_dim)),
      MakeBool("model.post_norm", AD_MEMBER(model.post_norm)),
      MakeDouble("model.dropout", AD_MEMBER(model.dropout)),
      MakeDouble("model.attention_dropout", AD_MEMBER(model.attention_dropout)),
      MakeDouble("model.sequence_mask_prob",
                 AD_MEMBER(model.sequence_mask_prob)),
      MakeInt("model.frame_height", AD_MEMBER(model.frame_height)),
      MakeInt("model.frame_width", AD_MEMBER(model.frame_width)),
      MakeInt("model.frame_channels", AD_MEMBER(model.frame_channels)),
      MakeInt("model.pixel_downsample", AD_MEMBER(model.pixel_downsample)),
      MakeInt("model.conv_blocks", AD_MEMBER(model.conv_blocks)),
      MakeInt("model.conv_channels", AD_MEMBER(model.conv_channels)),
      MakeInt("model.conv_kernel", AD_MEMBER(model.conv_kernel)),
      MakeInt("model.conv_stride", AD_MEMBER(model.conv_stride)),
      MakeInt("model.pool_size", AD_MEMBER(model.pool_size)),
      MakeDouble("model.conv_dropout", AD_MEMBER(model.conv_dropout)),
      MakeDouble("model.batchnorm_decay", AD_MEMBER(model.batchnorm_decay)),
      MakeDouble("model.batchnorm_eps", AD_MEMBER(model.batchnorm_eps)),
      MakeInt("model.encoder_units", AD_MEMBER(model.encoder_units)),
      MakeInt("train.batch_size", AD_MEMBER(train.batch_size)),
      MakeInt("train.steps", AD_MEMBER(train.steps)),
      MakeDouble("train.label_smoothing", AD_MEMBER(train.label_smoothing)),
      MakeDouble("train.adam_beta1", AD_MEMBER(train.adam_beta1)),
      MakeDouble("train.adam_beta2", AD_MEMBER(train.adam_beta2)),
      MakeDouble("train.adam_eps", AD_MEMBER(train.adam_eps)),
      MakeDouble("train.weight_decay", AD_MEMBER(train.weight_decay)),
      MakeDouble("train.grad_clip_norm", AD_MEMBER(train.grad_clip_norm)),
      MakeDouble("train.lr_init", AD_MEMBER(train.lr_init)),
      MakeDouble("train.lr_peak", AD_MEMBER(train.lr_peak)),
      MakeDouble("train.lr_final", AD_MEMBER(train.lr_final)),
      MakeInt("train.warmup_steps", AD_MEMBER(train.warmup_steps)),
      MakeInt("train.checkpoint_every", AD_MEMBER(train.checkpoint_every)),
      MakeInt("train.keep_checkpoints", AD_MEMBER(train.keep_checkpoints)),
      MakeInt("train.seed", AD_MEMBER(train.seed)),
      MakeString("train.engine", AD_MEMBER(train.engine)),
      MakeString("data.env", AD_MEMBER(data.env)),
      MakeString("data.split", AD_MEMBER(data.split)),
      MakeString("data.source", AD_MEMBER(data.source)),
      MakeInt("data.episode_stride", AD_MEMBER(data.episode_stride)),
      MakeInt("data.discovery_episodes", AD_MEMBER(data.discovery_episodes)),
      MakeBool("data.random_phase", AD_MEMBER(data.random_phase)),
      MakeInt("data.prefetch_batches", AD_MEMBER(data.prefetch_batches)),
      MakeInt("data.min_transitions", AD_MEMBER(data.min_transitions)),
  };
  return *fields;
}

#undef AD_MEMBER

const Field* FindField(absl::string_view key) {
  for (const Field& f : Fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

absl::Status UnknownKey(absl::string_view key) {
  std::vector<std::string> keys;
  for (const Field& f : Fields()) keys.push_back(f.key);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown key '", key, "'; known keys: ", absl::StrJoin(keys, ", ")));
}

// Splits "key = value" (value may be empty); INVALID_ARGUMENT without '='.
absl::StatusOr<std::pair<absl::string_view, absl::string_view>> SplitAssignment(
    absl::string_view line) {
  auto kv = SplitKeyValue(line);
  if (!kv.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 'key = value', got '", line, "'"));
  }
  return *kv;
}

absl::Status OutOfRange(absl::string_view key, absl::string_view value,
                        absl::string_view allowed) {
  return absl::InvalidArgumentError(
      absl::StrCat("key '", key, "' = ", value, ": must be ", allowed));
}

bool InUnit(double x) { return x >= 0.0 && x < 1.0; }

// OK when lo <= value <= hi; else OutOfRange naming `key` and the range.
absl::Status CheckInRange(absl::string_view key, int64_t value, int64_t lo,
                          int64_t hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return OutOfRange(key, absl::StrCat(value),
                    absl::StrCat("in [", lo, ", ", hi, "]"));
}

// OK when value >= lo; else OutOfRange naming `key` and the bound.
absl::Status CheckAtLeast(absl::string_view key, int64_t value, int64_t lo) {
  if (value >= lo) return absl::OkStatus();
  return OutOfRange(key, absl::StrCat(value), absl::StrCat(">= ", lo));
}

// OK when `value` is in [0, 1); else OutOfRange naming `key`.
absl::Status CheckInUnit(absl::string_view key, double value) {
  if (InUnit(value)) return absl::OkStatus();
  return OutOfRange(key, absl::StrCat(value), "in [0, 1)");
}

// The largest frame the pixel encoder takes (1024 x 1024 x 16 values), so
// also the largest list ExpandLists writes.
constexpr int kMaxObsDim = 1 << 24;

// One obs_high value stands for every component (see config.h). An obs_dim
// beyond any valid one is left for Validate() to reject, unexpanded.
void ExpandLists(LearnerConfig& config) {
  ModelOptions& m = config.model;
  if (m.obs_high.size() == 1 && m.obs_dim > 1 && m.obs_dim <= kMaxObsDim) {
    m.obs_high.assign(static_cast<size_t>(m.obs_dim), m.obs_high.front());
  }
}

// The pixel encoder's keys, and that its frames survive the blocks.
absl::Status ValidatePixelEncoder(const ModelOptions& m) {
  AD_RETURN_IF_ERROR(
      CheckInRange("model.frame_height", m.frame_height, 1, 1024));
  AD_RETURN_IF_ERROR(CheckInRange("model.frame_width", m.frame_width, 1, 1024));
  AD_RETURN_IF_ERROR(
      CheckInRange("model.frame_channels", m.frame_channels, 1, 16));
  AD_RETURN_IF_ERROR(CheckInRange("model.conv_blocks", m.conv_blocks, 1, 16));
  AD_RETURN_IF_ERROR(
      CheckInRange("model.conv_channels", m.conv_channels, 1, 4096));
  AD_RETURN_IF_ERROR(CheckInRange("model.conv_kernel", m.conv_kernel, 1, 15));
  AD_RETURN_IF_ERROR(CheckInRange("model.conv_stride", m.conv_stride, 1, 8));
  AD_RETURN_IF_ERROR(CheckInRange("model.pool_size", m.pool_size, 1, 8));
  AD_RETURN_IF_ERROR(CheckInUnit("model.conv_dropout", m.conv_dropout));
  if (!(m.batchnorm_decay > 0 && m.batchnorm_decay < 1)) {
    return OutOfRange("model.batchnorm_decay", absl::StrCat(m.batchnorm_decay),
                      "in (0, 1)");
  }
  if (!(m.batchnorm_eps > 0 && m.batchnorm_eps <= 1)) {
    return OutOfRange("model.batchnorm_eps", absl::StrCat(m.batchnorm_eps),
                      "in (0, 1]");
  }
  AD_RETURN_IF_ERROR(
      CheckInRange("model.encoder_units", m.encoder_units, 1, 65536));
  AD_RETURN_IF_ERROR(
      CheckInRange("model.pixel_downsample", m.pixel_downsample, 1, 16));
  if (m.frame_height < m.pixel_downsample ||
      m.frame_width < m.pixel_downsample) {
    return OutOfRange("model.pixel_downsample",
                      absl::StrCat(m.pixel_downsample),
                      absl::StrCat("at most the frame's smaller side (",
                                   m.frame_height, "x", m.frame_width, ")"));
  }
  // Each block: conv with padding k/2 (floor((x + 2(k/2) - k) / s) + 1),
  // then a floor max-pool. Every block must leave at least one pixel.
  int64_t h = m.frame_height / m.pixel_downsample;
  int64_t w = m.frame_width / m.pixel_downsample;
  for (int i = 0; i < m.conv_blocks; ++i) {
    const int64_t pad = m.conv_kernel / 2;
    h = (h + 2 * pad - m.conv_kernel) / m.conv_stride + 1;
    w = (w + 2 * pad - m.conv_kernel) / m.conv_stride + 1;
    h = h >= 1 ? h / m.pool_size : 0;
    w = w >= 1 ? w / m.pool_size : 0;
    if (h < 1 || w < 1) {
      return OutOfRange(
          "model.conv_blocks", absl::StrCat(m.conv_blocks),
          absl::StrCat("at most ", i, ": block ", i + 1, " leaves no pixel of",
                       " a ", m.frame_height, "x", m.frame_width,
                       " frame (model.frame_height, model.frame_width, "
                       "model.conv_kernel, model.conv_stride, "
                       "model.pool_size)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ModelOptions::Validate() const {
  AD_RETURN_IF_ERROR(ValidatePixelEncoder(*this));
  if (obs_encoder == "discrete") {
    AD_RETURN_IF_ERROR(CheckInRange("model.obs_dim", obs_dim, 1, 64));
  } else if (obs_encoder == "pixel") {
    const int64_t frame = int64_t{frame_height} * frame_width * frame_channels;
    if (obs_dim != frame) {
      return OutOfRange("model.obs_dim", absl::StrCat(obs_dim),
                        absl::StrCat("model.frame_height x model.frame_width x "
                                     "model.frame_channels = ",
                                     frame, " for model.obs_encoder = pixel"));
    }
  } else {
    return OutOfRange("model.obs_encoder", obs_encoder,
                      "\"discrete\" or \"pixel\"");
  }
  if (static_cast<int>(obs_high.size()) != obs_dim) {
    return OutOfRange("model.obs_high",
                      obs_high.size() > 8
                          ? absl::StrCat(obs_high.size(), " values")
                          : absl::StrJoin(obs_high, ","),
                      absl::StrCat("a list of model.obs_dim = ", obs_dim,
                                   " values, or one value for all"));
  }
  const int32_t max_high = obs_encoder == "pixel" ? 256 : 1 << 20;
  for (int32_t h : obs_high) {
    if (h < 1 || h > max_high) {
      return OutOfRange(
          "model.obs_high", absl::StrCat(h),
          absl::StrCat(
              "a list of values in [1, ", max_high, "]",
              obs_encoder == "pixel" ? " (pixel frames travel as bytes)" : ""));
    }
  }
  AD_RETURN_IF_ERROR(CheckInRange("model.num_actions", num_actions, 2, 4096));
  AD_RETURN_IF_ERROR(CheckInRange("model.context_len", context_len, 1, 16384));
  AD_RETURN_IF_ERROR(CheckInRange("model.embed_dim", embed_dim, 1, 8192));
  AD_RETURN_IF_ERROR(CheckInRange("model.num_layers", num_layers, 1, 64));
  if (num_heads < 1 || embed_dim % num_heads != 0) {
    return OutOfRange(
        "model.num_heads", absl::StrCat(num_heads),
        absl::StrCat(">= 1 and divide model.embed_dim = ", embed_dim));
  }
  AD_RETURN_IF_ERROR(CheckInRange("model.ff_dim", ff_dim, 1, 65536));
  AD_RETURN_IF_ERROR(CheckInUnit("model.dropout", dropout));
  AD_RETURN_IF_ERROR(CheckInUnit("model.attention_dropout", attention_dropout));
  AD_RETURN_IF_ERROR(
      CheckInUnit("model.sequence_mask_prob", sequence_mask_prob));
  return absl::OkStatus();
}

absl::Status TrainOptions::Validate() const {
  AD_RETURN_IF_ERROR(CheckInRange("train.batch_size", batch_size, 1, 65536));
  AD_RETURN_IF_ERROR(CheckAtLeast("train.steps", steps, 1));
  AD_RETURN_IF_ERROR(CheckInUnit("train.label_smoothing", label_smoothing));
  AD_RETURN_IF_ERROR(CheckInUnit("train.adam_beta1", adam_beta1));
  AD_RETURN_IF_ERROR(CheckInUnit("train.adam_beta2", adam_beta2));
  if (!(adam_eps > 0)) {
    return OutOfRange("train.adam_eps", absl::StrCat(adam_eps), "> 0");
  }
  if (weight_decay < 0) {
    return OutOfRange("train.weight_decay", absl::StrCat(weight_decay), ">= 0");
  }
  if (grad_clip_norm < 0) {
    return OutOfRange("train.grad_clip_norm", absl::StrCat(grad_clip_norm),
                      ">= 0 (0 disables clipping)");
  }
  if (!(lr_init >= 0 && lr_init <= 1)) {
    return OutOfRange("train.lr_init", absl::StrCat(lr_init), "in [0, 1]");
  }
  if (!(lr_peak > 0 && lr_peak <= 1)) {
    return OutOfRange("train.lr_peak", absl::StrCat(lr_peak), "in (0, 1]");
  }
  if (!(lr_final >= 0 && lr_final <= lr_peak)) {
    return OutOfRange("train.lr_final", absl::StrCat(lr_final),
                      "in [0, train.lr_peak]");
  }
  if (warmup_steps < 0 || warmup_steps > steps) {
    return OutOfRange("train.warmup_steps", absl::StrCat(warmup_steps),
                      "in [0, train.steps]");
  }
  AD_RETURN_IF_ERROR(
      CheckAtLeast("train.checkpoint_every", checkpoint_every, 0));
  AD_RETURN_IF_ERROR(
      CheckAtLeast("train.keep_checkpoints", keep_checkpoints, 1));
  if (engine != "fused" && engine != "torch") {
    return OutOfRange("train.engine", engine, "\"fused\" or \"torch\"");
  }
  return absl::OkStatus();
}

absl::Status DataOptions::Validate() const {
  if (env.empty()) return OutOfRange("data.env", "''", "non-empty");
  // Several families, comma-separated, train one model on all of them.
  for (absl::string_view family : absl::StrSplit(env, ',')) {
    if (family.empty()) {
      return OutOfRange("data.env", absl::StrCat("'", env, "'"),
                        "family names separated by single commas");
    }
  }
  if (split != "train") {
    return OutOfRange("data.split", split,
                      "\"train\": the learner never samples held-out tasks");
  }
  AD_RETURN_IF_ERROR(CheckAtLeast("data.episode_stride", episode_stride, 1));
  AD_RETURN_IF_ERROR(
      CheckInRange("data.discovery_episodes", discovery_episodes, 0, 65536));
  AD_RETURN_IF_ERROR(
      CheckInRange("data.prefetch_batches", prefetch_batches, 1, 1024));
  return absl::OkStatus();
}

absl::Status LearnerConfig::Validate() const {
  if (preset.empty()) return OutOfRange("preset", "''", "non-empty");
  AD_RETURN_IF_ERROR(model.Validate());
  AD_RETURN_IF_ERROR(train.Validate());
  return data.Validate();
}

absl::StatusOr<LearnerConfig> ParseConfig(absl::string_view text,
                                          absl::string_view origin) {
  LearnerConfig config;
  absl::flat_hash_set<std::string> seen;
  AD_ASSIGN_OR_RETURN(std::vector<PresetAssignment> assignments,
                      ParsePresetText(text, origin));
  for (const PresetAssignment& a : assignments) {
    auto where = [&](const absl::Status& s) {
      return absl::Status(s.code(),
                          absl::StrCat(origin, ":", a.line, ": ", s.message()));
    };
    const absl::string_view key = a.key, value = a.value;
    const Field* field = FindField(key);
    if (field == nullptr) return where(UnknownKey(key));
    if (!seen.insert(std::string(key)).second) {
      return where(absl::InvalidArgumentError(
          absl::StrCat("key '", key, "' is set twice")));
    }
    if (absl::Status s = field->parse(value, config); !s.ok()) return where(s);
  }
  ExpandLists(config);
  if (absl::Status s = config.Validate(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(origin, ": ", s.message()));
  }
  return config;
}

std::string FormatConfig(const LearnerConfig& config) {
  std::string out;
  for (const Field& f : Fields()) {
    absl::StrAppend(&out, f.key, " = ", f.format(config), "\n");
  }
  return out;
}

absl::StatusOr<LearnerConfig> BuiltinPreset(absl::string_view name) {
  for (const EmbeddedPreset& p : EmbeddedPresets()) {
    if (p.name == name) {
      AD_ASSIGN_OR_RETURN(
          LearnerConfig config,
          ParseConfig(p.text, absl::StrCat("learner/presets/", name, ".cfg")));
      return config;
    }
  }
  return absl::NotFoundError(absl::StrCat(
      "no preset named '", name,
      "'; known presets: ", absl::StrJoin(BuiltinPresetNames(), ", ")));
}

std::vector<std::string> BuiltinPresetNames() {
  std::vector<std::string> names;
  for (const EmbeddedPreset& p : EmbeddedPresets()) names.emplace_back(p.name);
  return names;
}

absl::StatusOr<LearnerConfig> LoadConfig(absl::string_view name_or_path) {
  bool is_path = absl::StrContains(name_or_path, '/') ||
                 absl::EndsWith(name_or_path, ".cfg");
  if (!is_path) return BuiltinPreset(name_or_path);
  std::ifstream in{std::string(name_or_path)};
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read config file '", name_or_path, "'"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  AD_ASSIGN_OR_RETURN(LearnerConfig config,
                      ParseConfig(buffer.str(), name_or_path));
  // A file that does not name itself is named after its stem.
  if (config.preset == LearnerConfig().preset) {
    absl::string_view stem = name_or_path;
    size_t slash = stem.rfind('/');
    if (slash != absl::string_view::npos) stem = stem.substr(slash + 1);
    absl::ConsumeSuffix(&stem, ".cfg");
    config.preset = std::string(stem);
  }
  return config;
}

absl::Status ApplyOverrides(const std::vector<std::string>& overrides,
                            LearnerConfig& config) {
  for (const std::string& item : overrides) {
    AD_ASSIGN_OR_RETURN(auto assignment, SplitAssignment(item));
    auto [key, value] = assignment;
    const Field* field = FindField(key);
    if (field == nullptr) return UnknownKey(key);
    AD_RETURN_IF_ERROR(field->parse(value, config));
  }
  ExpandLists(config);
  return config.Validate();
}

bool operator==(const LearnerConfig& a, const LearnerConfig& b) {
  return FormatConfig(a) == FormatConfig(b);
}

}  // namespace ad::learner
