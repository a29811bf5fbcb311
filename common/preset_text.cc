#include "common/preset_text.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/text_escape.h"

namespace ad {

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
    size_t split = line.find('=');
    if (split == absl::string_view::npos) split = line.find(':');  // old form
    if (split == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ":", line_number, ": expected 'key = value', got '",
          BoundedEcho(line), "'"));
    }
    PresetAssignment a;
    a.line = line_number;
    a.key = std::string(absl::StripAsciiWhitespace(line.substr(0, split)));
    a.value = std::string(absl::StripAsciiWhitespace(line.substr(split + 1)));
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
