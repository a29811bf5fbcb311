// A HistorySource over a directory of history files written by the actors'
// FileSink (actors/file_sink.h: one .adh file per history). The directory is
// read once, on creation, into memory (histories of the small presets are a
// few MB); Histories and Transitions then never block.
#ifndef AD_EVALUATOR_FILE_HISTORY_SOURCE_H_
#define AD_EVALUATOR_FILE_HISTORY_SOURCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "evaluator/history_source.h"

namespace ad::evaluator {

// NOT_FOUND if the directory does not exist; DATA_LOSS for a corrupt file
// (from the actors' reader).
absl::StatusOr<std::unique_ptr<HistorySource>> MakeFileHistorySource(
    const std::string& directory);

}  // namespace ad::evaluator

#endif  // AD_EVALUATOR_FILE_HISTORY_SOURCE_H_
