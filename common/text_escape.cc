#include "common/text_escape.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ad {

std::string BoundedEcho(absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return absl::CHexEscape(value);
  return absl::StrCat(absl::CHexEscape(value.substr(0, max_bytes)), "...(",
                      value.size(), " bytes)");
}

std::string CsvField(absl::string_view value) {
  if (value.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  out.reserve(value.size() + 2);
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace ad
