#include "common/preset_text.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/text_escape.h"

namespace ad {

std::optional<std::pair<absl::string_view, absl::string_view>> SplitKeyValue(
    absl::string_view assignment) {
  const size_t eq = assignment.find('=');
  if (eq == absl::string_view::npos) return std::nullopt;
  return std::make_pair(absl::StripAsciiWhitespace(assignment.substr(0, eq)),
                        absl::StripAsciiWhitespace(assignment.substr(eq + 1)));
}

absl::StatusOr<std::vector<PresetAssignment>> ParsePresetText(
    absl::string_view text, absl::string_view origin) {
  std::vector<PresetAssignment> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    auto kv = SplitKeyValue(line);
    if (!kv.has_value()) {  // the old `key: value` form
      if (const size_t colon = line.find(':');
          colon != absl::string_view::npos) {
        kv = std::make_pair(absl::StripAsciiWhitespace(line.substr(0, colon)),
                            absl::StripAsciiWhitespace(line.substr(colon + 1)));
      }
    }
    if (!kv.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ":", line_number, ": expected 'key = value', got '",
          BoundedEcho(line), "'"));
    }
    PresetAssignment a;
    a.line = line_number;
    a.key = std::string(kv->first);
    a.value = std::string(kv->second);
    if (a.key.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ":", line_number,
                                                     ": empty key in '",
                                                     BoundedEcho(line), "'"));
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace ad
