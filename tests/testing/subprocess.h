// Multi-process test helpers: the project's child-process tools
// (common/process.h) under the names the tests use, the location of the
// built binaries, a real ad-store started the way the tests start it, and
// whole-file reads and writes (logs, certificates, exports).
#ifndef AD_TESTS_TESTING_SUBPROCESS_H_
#define AD_TESTS_TESTING_SUBPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/process.h"

namespace ad::testing {

using ::ad::PickFreePort;
using ::ad::Subprocess;
using ::ad::WaitForPort;

// Path of a project binary: $AD_BIN_DIR/name (ctest sets AD_BIN_DIR).
std::string BinaryPath(const std::string& name);

// The real ad-store on 127.0.0.1:`port` over the database `db`, with small
// caches (--block_cache_mb=16 --write_buffer_mb=4, no metrics port) and
// `flags` after them, its output appended to `log`. Returns once the port
// accepts connections (waiting up to `timeout`); when it does not, the
// error holds the log.
absl::StatusOr<Subprocess> StartStore(
    const std::string& db, int port, const std::string& log,
    const std::vector<std::string>& flags = {},
    absl::Duration timeout = absl::Seconds(20));

// The whole file at `path`; "" when it cannot be read.
std::string ReadFile(const std::string& path);

// Replaces the file at `path` with `contents`.
void WriteFile(const std::string& path, const std::string& contents);

// GET http://127.0.0.1:port/metrics: the whole HTTP response ("" if the
// connection fails); reads time out after 5 s.
std::string ScrapeMetrics(int port);

// The value of the sample named exactly `series` (name plus labels, as
// exposed, e.g. `ad_actor_episodes_total{source="a3c"}`) in a Prometheus
// text exposition; -1 if there is no such line or it does not parse.
double MetricValue(const std::string& exposition, const std::string& series);

}  // namespace ad::testing

#endif  // AD_TESTS_TESTING_SUBPROCESS_H_
