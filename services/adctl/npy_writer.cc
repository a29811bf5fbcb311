#include "services/adctl/npy_writer.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ad::adctl {

absl::Status NpyWriter::Open(const std::string& path, const std::string& descr,
                             size_t item_bytes,
                             const std::vector<uint64_t>& shape) {
  path_ = path;
  item_bytes_ = item_bytes;
  expected_ = 1;
  for (uint64_t d : shape) expected_ *= d;
  std::string dims = absl::StrJoin(shape, ", ");
  if (shape.size() == 1) dims += ",";
  std::string header =
      absl::StrCat("{'descr': '", descr,
                   "', 'fortran_order': False, 'shape': (", dims, "), }");
  // Magic (6) + version (2) + length (2) + header, padded to 64 bytes.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("opening ", path, ": ", std::strerror(errno)));
  }
  const uint16_t length = static_cast<uint16_t>(header.size());
  std::string preamble("\x93NUMPY\x01\x00", 8);
  preamble.push_back(static_cast<char>(length & 0xff));
  preamble.push_back(static_cast<char>(length >> 8));
  preamble += header;
  if (std::fwrite(preamble.data(), 1, preamble.size(), file_) !=
      preamble.size()) {
    return absl::InternalError(absl::StrCat("writing ", path));
  }
  return absl::OkStatus();
}

absl::Status NpyWriter::Write(const void* data, size_t items) {
  if (items == 0) return absl::OkStatus();
  if (std::fwrite(data, item_bytes_, items, file_) != items) {
    return absl::InternalError(
        absl::StrCat("writing ", path_, ": ", std::strerror(errno)));
  }
  written_ += items;
  return absl::OkStatus();
}

absl::Status NpyWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  const bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok) return absl::InternalError(absl::StrCat("closing ", path_));
  if (written_ != expected_) {
    return absl::FailedPreconditionError(absl::StrCat(
        path_, ": wrote ", written_, " items, announced ", expected_));
  }
  return absl::OkStatus();
}

NpyWriter::~NpyWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

}  // namespace ad::adctl
