// SourceParams: the hyperparameters and budgets of the source algorithms, as
// data. A preset (actors/presets/<name>.preset, compiled into the binary) is
// a text file of `key = value` lines with `#` comments -- the project's one
// preset dialect, common/preset_text.h, shared with the learner's presets --
// e.g.
//
//   streams = 16                # default for every source
//   episodes = 200
//   a3c.streams = 32            # <source>.<key> overrides <key>
//   a3c.learning_rate = 1e-3
//
// Each source reads its keys through the typed getters (looking up
// "<source>.<key>" first, then "<key>", then the caller's default) into its
// own Options struct, whose Validate() checks ranges. Keys under a source's
// prefix that it never reads are reported by CheckAllUsed, so a typo in a
// preset is an error rather than a silently ignored setting.
//
// Not thread-safe (the getters record which keys were read): give each
// thread its own copy.
#ifndef AD_ACTORS_SOURCE_PARAMS_H_
#define AD_ACTORS_SOURCE_PARAMS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ad::actors {

class SourceParams {
 public:
  SourceParams() = default;

  // Parses preset text; `origin` names it in errors ("preset cpu-demo").
  // INVALID_ARGUMENT naming the line for a line that is not `key = value`
  // (common/preset_text.h), or whose value is empty.
  static absl::StatusOr<SourceParams> Parse(absl::string_view text,
                                            absl::string_view origin);

  // The compiled-in preset `name` (see PresetNames), or, when `name`
  // contains a '/', the preset file at that path.
  static absl::StatusOr<SourceParams> LoadPreset(absl::string_view name);
  static std::vector<std::string> PresetNames();

  // Sets or overrides one value from "key=value" (a command-line override);
  // blanks around key and value are dropped. INVALID_ARGUMENT if there is no
  // '=' or the key or the value is empty.
  absl::Status Override(absl::string_view assignment);

  absl::StatusOr<double> Double(absl::string_view source, absl::string_view key,
                                double default_value) const;
  absl::StatusOr<int64_t> Int(absl::string_view source, absl::string_view key,
                              int64_t default_value) const;
  absl::StatusOr<std::string> String(absl::string_view source,
                                     absl::string_view key,
                                     std::string default_value) const;

  // INVALID_ARGUMENT listing keys "<source>.*" that no getter read.
  absl::Status CheckAllUsed(absl::string_view source) const;

  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  // The raw value for source.key or key; nullptr if neither is set.
  const std::string* Find(absl::string_view source, absl::string_view key,
                          std::string* found_key) const;

  std::map<std::string, std::string> values_;
  mutable std::set<std::string> used_;
};

}  // namespace ad::actors

#endif  // AD_ACTORS_SOURCE_PARAMS_H_
