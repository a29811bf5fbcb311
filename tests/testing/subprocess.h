// Multi-process test helpers: the project's child-process tools
// (common/process.h) under the names the tests use, plus the location of the
// built binaries.
#ifndef AD_TESTS_TESTING_SUBPROCESS_H_
#define AD_TESTS_TESTING_SUBPROCESS_H_

#include <string>

#include "common/process.h"

namespace ad::testing {

using ::ad::PickFreePort;
using ::ad::Subprocess;
using ::ad::WaitForPort;

// Path of a project binary: $AD_BIN_DIR/name (ctest sets AD_BIN_DIR).
std::string BinaryPath(const std::string& name);

// GET http://127.0.0.1:port/metrics: the whole HTTP response ("" if the
// connection fails); reads time out after 5 s.
std::string ScrapeMetrics(int port);

// The value of the sample named exactly `series` (name plus labels, as
// exposed, e.g. `ad_actor_episodes_total{source="a3c"}`) in a Prometheus
// text exposition; -1 if there is no such line or it does not parse.
double MetricValue(const std::string& exposition, const std::string& series);

}  // namespace ad::testing

#endif  // AD_TESTS_TESTING_SUBPROCESS_H_
