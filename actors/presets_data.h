// The preset files of actors/presets/, compiled into the library by CMake
// (the generated presets_data.cc), so that binaries need no source tree.
#ifndef AD_ACTORS_PRESETS_DATA_H_
#define AD_ACTORS_PRESETS_DATA_H_

#include "absl/types/span.h"

namespace ad::actors {

struct PresetText {
  const char* name;  // file name without ".preset"
  const char* text;  // the file's contents
};

absl::Span<const PresetText> CompiledPresets();

}  // namespace ad::actors

#endif  // AD_ACTORS_PRESETS_DATA_H_
