#include "common/obs_bytes.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"

namespace ad {

void ObsToBytes(absl::Span<const int32_t> obs, uint8_t* out) {
  // One pass: OR the bits outside a byte of every value and check once, so
  // the loop stays a narrowing copy the compiler vectorises.
  uint32_t outside = 0;
  for (size_t i = 0; i < obs.size(); ++i) {
    const auto v = static_cast<uint32_t>(obs[i]);
    outside |= v & ~uint32_t{0xff};
    out[i] = static_cast<uint8_t>(v);
  }
  if (outside != 0) {
    for (size_t i = 0; i < obs.size(); ++i) {
      CHECK(obs[i] >= 0 && obs[i] < 256)
          << "obs[" << i << "] = " << obs[i] << " does not fit a byte";
    }
  }
}

void ObsToBytes(absl::Span<const int32_t> obs, std::string* out) {
  out->resize(obs.size());
  ObsToBytes(obs, reinterpret_cast<uint8_t*>(out->data()));
}

void ObsFromBytes(absl::string_view bytes, absl::Span<int32_t> out) {
  CHECK_EQ(bytes.size(), out.size());
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  for (size_t i = 0; i < out.size(); ++i) out[i] = p[i];
}

absl::Status CheckObsFields(absl::string_view message, size_t obs_size,
                            size_t obs_u8_size, size_t want) {
  if (obs_size > 0 && obs_u8_size > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        message, ".obs (", obs_size, " values) and ", message, ".obs_u8 (",
        obs_u8_size, " bytes) are both set; send exactly one of them"));
  }
  if (obs_u8_size > 0 && obs_u8_size != want) {
    return absl::InvalidArgumentError(
        absl::StrCat(message, ".obs_u8 has ", obs_u8_size, " bytes; expected ",
                     want, " (transitions x obs_dim)"));
  }
  if (obs_u8_size == 0 && obs_size != want) {
    return absl::InvalidArgumentError(
        absl::StrCat(message, ".obs has ", obs_size, " values; expected ", want,
                     " (transitions x obs_dim)"));
  }
  return absl::OkStatus();
}

}  // namespace ad
