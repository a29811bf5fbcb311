// The one syntax of every binary's `--set` flag: preset overrides written
// "key=value;key=value". A comma also separates overrides, but only where
// the text after it reads as an assignment (holds an '=' before the next
// comma); otherwise it belongs to the value. So both
//
//   --set='a3c.streams=4;a3c.episodes=200'
//   --set=a3c.streams=4,a3c.episodes=200
//
// give two overrides, while list values keep their commas:
//
//   --set='data.env=darkroom,darkroom_hard;model.obs_high=17,17'
//   --set=dqn.conv_channels=16,32,32
//
// give two and one. Blank pieces (and stray commas) are dropped; each piece
// is trimmed. The pieces are not checked here: the preset's own
// Override/ApplyOverrides reports a piece without '=' or with an unknown
// key, naming it.
//
// Pure function, thread-safe.
#ifndef AD_COMMON_OVERRIDES_H_
#define AD_COMMON_OVERRIDES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace ad {

std::vector<std::string> SplitOverrides(absl::string_view text);

}  // namespace ad

#endif  // AD_COMMON_OVERRIDES_H_
