#include "tests/testing/subprocess.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ad::testing {

std::string BinaryPath(const std::string& name) {
  const char* dir = std::getenv("AD_BIN_DIR");
  return absl::StrCat(dir != nullptr ? dir : "bin", "/", name);
}

}  // namespace ad::testing
