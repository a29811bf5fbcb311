#include "actors/source_params.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "actors/presets_data.h"
#include "common/preset_text.h"
#include "common/status_macros.h"

namespace ad::actors {

absl::StatusOr<SourceParams> SourceParams::Parse(absl::string_view text,
                                                 absl::string_view origin) {
  SourceParams params;
  AD_ASSIGN_OR_RETURN(std::vector<PresetAssignment> assignments,
                      ParsePresetText(text, origin));
  for (PresetAssignment& a : assignments) {
    if (a.value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ":", a.line, ": key '", a.key, "' has an empty value"));
    }
    params.values_[a.key] = std::move(a.value);
  }
  return params;
}

std::vector<std::string> SourceParams::PresetNames() {
  std::vector<std::string> names;
  for (const PresetText& p : CompiledPresets()) names.emplace_back(p.name);
  return names;
}

absl::StatusOr<SourceParams> SourceParams::LoadPreset(absl::string_view name) {
  if (name.find('/') != absl::string_view::npos) {
    std::ifstream in{std::string(name)};
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read preset file ", name));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    return Parse(buffer.str(), absl::StrCat("preset file ", name));
  }
  for (const PresetText& p : CompiledPresets()) {
    if (p.name == name) return Parse(p.text, absl::StrCat("preset ", name));
  }
  return absl::NotFoundError(absl::StrCat(
      "no preset '", name, "'; known: ", absl::StrJoin(PresetNames(), ", ")));
}

absl::Status SourceParams::Override(absl::string_view assignment) {
  // Blank around the '=' is dropped first: " =2" has no key and "k= " no
  // value, as in a preset file.
  const auto kv = SplitKeyValue(assignment);
  const absl::string_view key = kv.has_value() ? kv->first : "";
  const absl::string_view value = kv.has_value() ? kv->second : "";
  if (key.empty() || value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "override '", assignment,
        "' is not of the form key=value with a non-empty key and value"));
  }
  values_[std::string(key)] = std::string(value);
  return absl::OkStatus();
}

const std::string* SourceParams::Find(absl::string_view source,
                                      absl::string_view key,
                                      std::string* found_key) const {
  std::string k = absl::StrCat(source, ".", key);
  auto it = values_.find(k);
  if (it == values_.end()) {
    k = std::string(key);
    it = values_.find(k);
  }
  used_.insert(absl::StrCat(source, ".", key));
  if (it == values_.end()) return nullptr;
  *found_key = k;
  return &it->second;
}

absl::StatusOr<double> SourceParams::Double(absl::string_view source,
                                            absl::string_view key,
                                            double default_value) const {
  std::string k;
  const std::string* v = Find(source, key, &k);
  if (v == nullptr) return default_value;
  double out = 0;
  if (!absl::SimpleAtod(*v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", k, " = '", *v, "' is not a number"));
  }
  return out;
}

absl::StatusOr<int64_t> SourceParams::Int(absl::string_view source,
                                          absl::string_view key,
                                          int64_t default_value) const {
  std::string k;
  const std::string* v = Find(source, key, &k);
  if (v == nullptr) return default_value;
  int64_t out = 0;
  if (!absl::SimpleAtoi(*v, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter ", k, " = '", *v, "' is not an integer"));
  }
  return out;
}

absl::StatusOr<std::string> SourceParams::String(
    absl::string_view source, absl::string_view key,
    std::string default_value) const {
  std::string k;
  const std::string* v = Find(source, key, &k);
  if (v == nullptr) return default_value;
  return *v;
}

absl::Status SourceParams::CheckAllUsed(absl::string_view source) const {
  const std::string prefix = absl::StrCat(source, ".");
  std::vector<std::string> unused;
  for (const auto& [key, value] : values_) {
    if (absl::StartsWith(key, prefix) && used_.count(key) == 0) {
      unused.push_back(key);
    }
  }
  if (!unused.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown parameters for source ", source, ": ",
                     absl::StrJoin(unused, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace ad::actors
