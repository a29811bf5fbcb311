#include "common/memory.h"

#include <fstream>
#include <string>

namespace ad {
namespace {

// The /proc/self/status line starting with `key` (a size in kB) in MiB; 0
// when there is no such line.
double StatusMb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) {
      try {
        return std::stod(line.substr(key.size())) / 1024;
      } catch (const std::exception&) {
        return 0;
      }
    }
  }
  return 0;
}

}  // namespace

double ResidentMb() { return StatusMb("VmRSS:"); }
double PeakResidentMb() { return StatusMb("VmHWM:"); }

}  // namespace ad
