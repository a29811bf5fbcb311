// Where the evaluator reads recorded learning histories of the source
// algorithm: for the "source" baseline (its own per-episode returns on the
// held-out tasks) and for the partial-demonstration prompts of Fig. 5
// (segments of a history at a chosen point of its learning).
//
// HistorySource is the seam; implementations:
//   * the store's (services/store/store_history_source.h): the trajectory
//     store over gRPC, StoreService.QueryTask / GetHistory; handed to the
//     experiments as ExperimentHooks::open_store (experiments.h).
//   * FileHistorySource (file_history_source.h): a directory written by the
//     actors' FileSink (actors/file_sink.h).
//   * InMemoryHistorySource (below): histories handed over in memory (tests,
//     single-process runs).
// Calls block on I/O (a store RPC, a file read) and are made from one thread.
#ifndef AD_EVALUATOR_HISTORY_SOURCE_H_
#define AD_EVALUATOR_HISTORY_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ad/v1/common.pb.h"
#include "evaluator/curves.h"
#include "evaluator/policy.h"
#include "evaluator/rollout.h"

namespace ad::evaluator {

class HistorySource {
 public:
  virtual ~HistorySource() = default;

  // "store 127.0.0.1:50052", "files runs/x/histories", ...
  virtual std::string Describe() const = 0;

  // Metadata of every history recorded on `task_id` of `env`, including the
  // per-episode returns (HistoryMeta.episode_returns). Empty if none.
  virtual absl::StatusOr<std::vector<ad::v1::HistoryMeta>> Histories(
      const std::string& env, const std::string& task_id) = 0;

  // Transitions [begin, end) of a history (end = 0: to its end).
  virtual absl::StatusOr<ad::v1::TransitionBatch> Transitions(
      const std::string& history_id, uint64_t begin, uint64_t end) = 0;
};

// A HistorySource over histories held in memory.
class InMemoryHistorySource : public HistorySource {
 public:
  // Adds a history; its meta.episode_returns are computed from the rewards
  // and dones when empty. INVALID_ARGUMENT if the arrays disagree.
  absl::Status Add(ad::v1::HistoryMeta meta,
                   ad::v1::TransitionBatch transitions);

  std::string Describe() const override { return "in-memory histories"; }
  absl::StatusOr<std::vector<ad::v1::HistoryMeta>> Histories(
      const std::string& env, const std::string& task_id) override;
  absl::StatusOr<ad::v1::TransitionBatch> Transitions(
      const std::string& history_id, uint64_t begin, uint64_t end) override;

 private:
  std::vector<ad::v1::HistoryMeta> metas_;
  std::vector<ad::v1::TransitionBatch> transitions_;
};

// Options of the source-algorithm baseline curve.
struct SourceCurveOptions {
  std::string source;    // HistoryMeta.source to keep ("a3c", ...); empty: any
  int max_episodes = 0;  // truncate each history; 0: keep all
  double steps_per_episode = 0;  // for the env-steps axis
  absl::Status Validate() const;
};

// The source algorithm's learning curve on `tasks`: one row per recorded
// history (episode index = episode of that single stream). NOT_FOUND naming
// the tasks if none has a history.
absl::StatusOr<Curve> SourceCurve(HistorySource& histories,
                                  const std::string& env,
                                  absl::Span<const std::string> tasks,
                                  const SourceCurveOptions& options);

// Partial demonstrations (paper Fig. 5): for each row, the `length`
// transitions of a recorded history of the row's task that end where
// `competence` (in [0, 1]: 0 the start of learning, 1 its end) of its
// episodes have been played, cut at an episode boundary. Rows of one task
// take different histories when several exist (row seed modulo count).
// `mean_return` receives the mean return of the prompt's last episode over
// rows (the competence actually shown). NOT_FOUND for a task without a
// history long enough.
absl::StatusOr<Prompt> PromptFromHistories(HistorySource& histories,
                                           const std::string& env,
                                           absl::Span<const RowSpec> rows,
                                           const std::string& source,
                                           double competence, int length,
                                           double* mean_return);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_HISTORY_SOURCE_H_
