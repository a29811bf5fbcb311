// The `adctl env ...` group: looks at environments locally, without any
// server.
//
//   adctl env frames --env=watermaze --out=FILE.png [--task=ID] [--rows=3]
//       [--frames=8] [--frame_stride=3] [--seed=1] [--python=PATH]
//
// `frames` plays the expert from the start of an episode on --rows tasks
// (evenly spaced through the family's task list, or the one --task) and
// draws its view every --frame_stride steps, --frames per task, as one PNG
// (evaluator/plot.h's PlotFrames: python3 with matplotlib). The frames go
// through FILE.png.npy (uint8 [rows, frames, H, W, 3]), removed once the
// PNG is written. Only families with pixel observations (watermaze) have
// frames.
#ifndef AD_SERVICES_ADCTL_ENV_COMMANDS_H_
#define AD_SERVICES_ADCTL_ENV_COMMANDS_H_

#include "services/adctl/command.h"

namespace ad::adctl {

void RegisterEnvCommands(CommandRegistry* registry);

}  // namespace ad::adctl

#endif  // AD_SERVICES_ADCTL_ENV_COMMANDS_H_
