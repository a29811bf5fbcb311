// Fuzzes the learner's config parser (learner/config.h): the input is the
// text of a .cfg preset, given to ParseConfig, and each of its lines is also
// tried as a --set override (ApplyOverrides) on the default config.
//
// learner/config.cc is plain data code; the fuzz build compiles it without
// the rest of ad_learner, so no LibTorch is linked.
//
// Oracles: an accepted config formats and parses back to itself; every
// integer or number the input set is held exactly (parsing never wraps or
// rounds a value into a different valid one); overrides validate what they
// accept.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"
#include "learner/config.h"

namespace ad::fuzz {
namespace {

// key -> value of `key = value` lines, comments dropped, as the parser
// splits them (the first '=').
std::map<std::string, std::string> Assignments(absl::string_view text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = line.substr(0, line.find('#'));
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    out[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
  }
  return out;
}

// Dies unless every numeric value the input set reads back unchanged from
// the formatted config.
void CheckValuesHeld(const std::map<std::string, std::string>& input,
                     const std::string& formatted) {
  const std::map<std::string, std::string> held = Assignments(formatted);
  for (const auto& [key, value] : input) {
    const auto it = held.find(key);
    CHECK(it != held.end()) << "accepted key '" << key << "' is not formatted";
    int64_t in_int = 0;
    int64_t held_int = 0;
    double in_double = 0;
    double held_double = 0;
    if (absl::SimpleAtoi(value, &in_int) &&
        absl::SimpleAtoi(it->second, &held_int)) {
      CHECK_EQ(in_int, held_int) << key << " = " << value;
    } else if (absl::SimpleAtod(value, &in_double) &&
               absl::SimpleAtod(it->second, &held_double)) {
      CHECK_EQ(in_double, held_double) << key << " = " << value;
    }
  }
}

}  // namespace
}  // namespace ad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ad::learner::LearnerConfig> config =
      ad::learner::ParseConfig(text, "fuzz.cfg");
  if (config.ok()) {
    CHECK(config->Validate().ok());
    const std::string formatted = ad::learner::FormatConfig(*config);
    absl::StatusOr<ad::learner::LearnerConfig> again =
        ad::learner::ParseConfig(formatted, "formatted");
    CHECK(again.ok()) << again.status() << "\n" << formatted;
    CHECK(*again == *config) << formatted;
    ad::fuzz::CheckValuesHeld(ad::fuzz::Assignments(text), formatted);
  }

  // Each line as one override on the defaults.
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ad::learner::LearnerConfig overridden;
    const absl::Status status =
        ad::learner::ApplyOverrides({std::string(line)}, overridden);
    if (!status.ok()) continue;
    CHECK(overridden.Validate().ok());
    std::map<std::string, std::string> one;
    const size_t eq = line.find('=');
    one[std::string(absl::StripAsciiWhitespace(line.substr(0, eq)))] =
        std::string(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    ad::fuzz::CheckValuesHeld(one, ad::learner::FormatConfig(overridden));
  }
  return 0;
}
