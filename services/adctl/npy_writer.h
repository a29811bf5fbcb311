// Writes one NumPy .npy file (format version 1.0) whose shape is known up
// front, streaming the data in pieces; readable with numpy.load. Used by
// `adctl store export --format npy`. Not thread-safe.
#ifndef AD_SERVICES_ADCTL_NPY_WRITER_H_
#define AD_SERVICES_ADCTL_NPY_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ad::adctl {

class NpyWriter {
 public:
  // `descr` is the NumPy dtype string ("<i4", "<f4", "|u1"); `shape` the
  // array's shape. Writes the header.
  absl::Status Open(const std::string& path, const std::string& descr,
                    size_t item_bytes, const std::vector<uint64_t>& shape);
  // Appends raw little-endian items.
  absl::Status Write(const void* data, size_t items);
  // FAILED_PRECONDITION unless exactly the announced item count was written.
  absl::Status Close();
  ~NpyWriter();

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
  size_t item_bytes_ = 0;
  uint64_t expected_ = 0;
  uint64_t written_ = 0;
};

}  // namespace ad::adctl

#endif  // AD_SERVICES_ADCTL_NPY_WRITER_H_
