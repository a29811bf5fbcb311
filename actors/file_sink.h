// FileSink: a HistorySink that writes each history to its own file in a
// local directory, and the reader for that format. Used by tests, by the
// single-machine demo when no store is given, and by ad-source-curves.
//
// Format of DIR/<escaped history id>.adh: the 8-byte magic "ADHIST01", then
// records, each a little-endian uint32 byte length followed by a serialised
// ad.v1.AppendRequest (the store's own append message: seq, the meta with
// seq 0, the packed chunk, the final flag). A file is therefore exactly the
// sequence of appends the store would have received. The escaped name keeps
// [A-Za-z0-9._=,-] and writes any other byte as %XX.
//
// Append writes the record with one write(2) call and returns; Flush fsyncs
// every file written since the previous Flush, and the directory. All
// methods are thread-safe; one mutex guards the per-history bookkeeping and
// the writes (chunks are thousands of transitions, so contention is low).
#ifndef AD_ACTORS_FILE_SINK_H_
#define AD_ACTORS_FILE_SINK_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "actors/history_sink.h"

namespace ad::actors {

class FileSink : public HistorySink {
 public:
  struct Options {
    std::string directory;  // created (with parents) if missing
    absl::Status Validate() const;
  };

  // Creates the directory. INVALID_ARGUMENT for bad options, INTERNAL if the
  // directory cannot be created.
  static absl::StatusOr<std::unique_ptr<FileSink>> Create(Options options);

  absl::Status Append(const ad::v1::HistoryMeta& meta,
                      const TransitionChunk& chunk, bool final) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Flush(absl::Duration timeout) override ABSL_LOCKS_EXCLUDED(mu_);

  // Path of the file that holds `history_id`.
  std::string PathFor(const std::string& history_id) const;

 private:
  explicit FileSink(Options options) : options_(std::move(options)) {}

  struct HistoryState {
    uint64_t next_seq = 0;
    bool finalized = false;
  };

  const Options options_;
  absl::Mutex mu_;
  std::map<std::string, HistoryState> histories_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_paths_ ABSL_GUARDED_BY(mu_);
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

// One history read back from a FileSink file, with the store's summary fields
// of `meta` filled in (length, episodes, episode_returns, complete).
struct RecordedHistory {
  ad::v1::HistoryMeta meta;
  // The whole history, in order; observations in obs (records of pixel
  // families, written with obs_u8, are widened).
  ad::v1::TransitionBatch transitions;
};

// Reads one history file. A record cut short at the end of the file (a
// process killed mid-write) is dropped with a warning and the history is
// reported incomplete; a malformed record elsewhere, a bad magic or a seq gap
// is DATA_LOSS naming the file and byte offset.
absl::StatusOr<RecordedHistory> ReadHistoryFile(const std::string& path);

// The .adh files in `directory`, sorted by name. NOT_FOUND if the directory
// does not exist.
absl::StatusOr<std::vector<std::string>> ListHistoryFiles(
    const std::string& directory);

// Reads every history in `directory` (sorted by file name).
absl::StatusOr<std::vector<RecordedHistory>> ReadHistoryDirectory(
    const std::string& directory);

}  // namespace ad::actors

#endif  // AD_ACTORS_FILE_SINK_H_
