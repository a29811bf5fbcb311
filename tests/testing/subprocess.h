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

}  // namespace ad::testing

#endif  // AD_TESTS_TESTING_SUBPROCESS_H_
