// The history-id alphabet, written once. A history id names one recorded
// learning history everywhere: the actors make it from the source, task,
// seed and stream (actors/task_runner.h), the sinks and the store validate
// it (actors/history_sink.h, storage/history.h), and exports and file names
// carry it. Ids use only [A-Za-z0-9._:/=,-] so they need no quoting in logs,
// Prometheus labels or RocksDB keys; exports that treat ',' or '/' specially
// escape them there.
#ifndef AD_COMMON_HISTORY_ID_H_
#define AD_COMMON_HISTORY_ID_H_

namespace ad {

// The alphabet as it is written in error messages.
inline constexpr char kHistoryIdAlphabet[] = "[A-Za-z0-9._:/=,-]";

// True if `c` may appear in a history id.
constexpr bool IsHistoryIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
         c == '/' || c == '=' || c == ',' || c == '-';
}

}  // namespace ad

#endif  // AD_COMMON_HISTORY_ID_H_
