// The one preset dialect of the project, read the same way by the actors'
// presets (actors/presets/*.preset, SourceParams) and the learner's
// (learner/presets/*.cfg, LoadConfig):
//
//   # a comment runs to the end of the line
//   a3c.streams = 8          # key = value, blanks around both dropped
//   model.obs_high = 9, 9    # a value may hold commas and blanks
//
// One assignment per line; blank lines are skipped. The same `key=value`
// form is what every binary's --set takes (common/overrides.h). Files
// written for the actors before the dialect was unified used `key: value`;
// a line with no '=' is still read that way, so those files keep working.
//
// What keys exist and what values mean is the caller's: this only splits
// lines. Pure function, thread-safe.
#ifndef AD_COMMON_PRESET_TEXT_H_
#define AD_COMMON_PRESET_TEXT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ad {

struct PresetAssignment {
  int line = 0;  // 1-based line number in the text
  std::string key;
  std::string value;  // may be empty; callers that need one say so
};

// "key = value" split at its first '=', blanks around both dropped (either
// may come back empty); nullopt when there is no '='. The one split of an
// assignment: preset lines (below), --set overrides (SourceParams::Override,
// learner::ApplyOverrides).
std::optional<std::pair<absl::string_view, absl::string_view>> SplitKeyValue(
    absl::string_view assignment);

// The assignments of `text` in order. INVALID_ARGUMENT "ORIGIN:LINE:
// expected 'key = value', got '...'" for a line that is neither form, and
// "ORIGIN:LINE: empty key in '...'" for a line without a key.
absl::StatusOr<std::vector<PresetAssignment>> ParsePresetText(
    absl::string_view text, absl::string_view origin);

}  // namespace ad

#endif  // AD_COMMON_PRESET_TEXT_H_
