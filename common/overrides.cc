#include "common/overrides.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace ad {

std::vector<std::string> SplitOverrides(absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view piece : absl::StrSplit(text, ';')) {
    // Within a ';' piece, a comma starts a new override only when the part
    // after it is itself an assignment; otherwise it joins the value.
    std::string current;
    bool first = true;
    for (absl::string_view part : absl::StrSplit(piece, ',')) {
      if (absl::StripAsciiWhitespace(part).empty()) continue;  // "a=1,"
      if (!first && part.find('=') == absl::string_view::npos) {
        current.push_back(',');
        current.append(part.data(), part.size());
        continue;
      }
      if (!first) {
        std::string trimmed(absl::StripAsciiWhitespace(current));
        if (!trimmed.empty()) out.push_back(std::move(trimmed));
      }
      current.assign(part.data(), part.size());
      first = false;
    }
    std::string trimmed(absl::StripAsciiWhitespace(current));
    if (!trimmed.empty()) out.push_back(std::move(trimmed));
  }
  return out;
}

}  // namespace ad
