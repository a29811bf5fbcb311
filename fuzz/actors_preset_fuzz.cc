// Fuzzes the actors' preset parser (actors/source_params.h): the input is
// the text of a .preset file, given to SourceParams::Parse; each of its lines
// is also tried as a command-line override (Override); every key is then
// read through the typed getters and CheckAllUsed, as the sources do.
//
// actors/source_params.cc needs nothing of LibTorch; the fuzz build compiles
// it without the rest of ad_actors.
//
// Oracles: accepted keys and values are non-empty, stripped and single-line,
// whether they came from the file or an override (and comment-free from the
// file); writing the accepted values back as a preset parses to the same
// values; once every key is read, CheckAllUsed is content.
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "actors/source_params.h"
#include "glog/logging.h"

namespace ad::fuzz {
namespace {

// `from_file`: the values came from Parse, so they also hold no comment.
void CheckWellFormed(const std::map<std::string, std::string>& values,
                     bool from_file) {
  for (const auto& [key, value] : values) {
    CHECK(!key.empty()) << "empty key (value '" << value << "')";
    CHECK(!value.empty()) << "empty value of '" << key << "'";
    CHECK_EQ(absl::StripAsciiWhitespace(key), key);
    CHECK_EQ(absl::StripAsciiWhitespace(value), value);
    CHECK_EQ(key.find('\n'), std::string::npos) << key;
    CHECK_EQ(value.find('\n'), std::string::npos) << value;
    if (from_file) {
      CHECK_EQ(key.find('#'), std::string::npos) << key;
      CHECK_EQ(value.find('#'), std::string::npos) << value;
    }
  }
}

// Reads every key through the getters, as a source would; then no key of
// any source read is unused.
void ReadAll(const actors::SourceParams& params) {
  std::set<std::string> sources;
  for (const auto& [key, value] : params.values()) {
    const size_t dot = key.find('.');
    const std::string source =
        dot == std::string::npos ? "a3c" : key.substr(0, dot);
    const std::string name =
        dot == std::string::npos ? key : key.substr(dot + 1);
    (void)params.Double(source, name, 0.0);
    (void)params.Int(source, name, 0);
    (void)params.String(source, name, "");
    sources.insert(source);
  }
  for (const std::string& source : sources) {
    const absl::Status used = params.CheckAllUsed(source);
    CHECK(used.ok()) << used;
  }
}

}  // namespace
}  // namespace ad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ad::actors::SourceParams> params =
      ad::actors::SourceParams::Parse(text, "preset fuzz");
  if (params.ok()) {
    ad::fuzz::CheckWellFormed(params->values(), /*from_file=*/true);
    std::string written;
    for (const auto& [key, value] : params->values()) {
      absl::StrAppend(&written, key, ": ", value, "\n");
    }
    absl::StatusOr<ad::actors::SourceParams> again =
        ad::actors::SourceParams::Parse(written, "written");
    CHECK(again.ok()) << again.status() << "\n" << written;
    CHECK(again->values() == params->values()) << written;
    ad::fuzz::ReadAll(*params);
  }

  // Each line as one override, on what was parsed (or on nothing).
  ad::actors::SourceParams overridden =
      params.ok() ? *params : ad::actors::SourceParams();
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    (void)overridden.Override(line);
  }
  ad::fuzz::CheckWellFormed(overridden.values(), /*from_file=*/false);
  ad::fuzz::ReadAll(overridden);
  return 0;
}
