// The `adctl store ...` group: read-only views of the trajectory store over
// gRPC (StoreClient), plus stats and checkpoints.
//
//   adctl store tasks [--env=E] [--split=train|test]
//   adctl store histories --task=ID [--env=E]
//   adctl store show HISTORY [--range=A:B]
//   adctl store export --task=ID --format=csv|npy [--out=PATH]
//   adctl store stats
//   adctl store checkpoint NAME
//   adctl store delete HISTORY [--reason=TEXT]
//
// Exports quote fields per RFC 4180 (common/text_escape.h), so an id with a
// comma, quote or line break stays one field. `delete` writes an audit line
// (who, where, why, what) to stderr at WARNING; the store logs its own.
//
// --store (default 127.0.0.1:50052) names the store; --timeout bounds each
// RPC.
#ifndef AD_SERVICES_ADCTL_STORE_COMMANDS_H_
#define AD_SERVICES_ADCTL_STORE_COMMANDS_H_

#include "services/adctl/command.h"

namespace ad::adctl {

void RegisterStoreCommands(CommandRegistry* registry);

}  // namespace ad::adctl

#endif  // AD_SERVICES_ADCTL_STORE_COMMANDS_H_
