// The preset files of learner/presets/, compiled into the library by
// learner/CMakeLists.txt (which writes presets_embedded.cc at configure
// time). Only config.cc uses this; everyone else calls BuiltinPreset().
#ifndef AD_LEARNER_PRESETS_EMBEDDED_H_
#define AD_LEARNER_PRESETS_EMBEDDED_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ad::learner {

struct EmbeddedPreset {
  absl::string_view name;  // file stem: "paper", "cpu-demo", "test"
  absl::string_view text;  // the file's contents
};

absl::Span<const EmbeddedPreset> EmbeddedPresets();

}  // namespace ad::learner

#endif  // AD_LEARNER_PRESETS_EMBEDDED_H_
