// Appends in-memory learning histories (ad::learner::History) to the
// trajectory store through a StoreSink, for tests, benchmarks and demos
// that need a populated store without running actors.
#ifndef AD_SERVICES_LEARNER_HISTORY_UPLOAD_H_
#define AD_SERVICES_LEARNER_HISTORY_UPLOAD_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "learner/in_process_source.h"
#include "services/store/store_sink.h"

namespace ad::services::learner {

struct UploadOptions {
  std::string env = "darkroom";
  std::string source = "tabular_q";
  int num_actions = 5;
  int chunk_transitions = 1000;  // transitions per AppendRequest
  absl::Duration flush_timeout = absl::Seconds(60);
};

// Appends every history (its split and task id as given) and waits until
// the store acknowledged all of them.
absl::Status UploadHistories(const std::vector<ad::learner::History>& histories,
                             const UploadOptions& options,
                             store::StoreSink& sink);

}  // namespace ad::services::learner

#endif  // AD_SERVICES_LEARNER_HISTORY_UPLOAD_H_
