// Observations as bytes: the one place that converts between the int32
// observation arrays of the C++ APIs (envs::BatchedEnv, storage::Transitions,
// learner windows) and the one-byte-per-component form that pixel families
// (envs::SpaceSpec::obs_bytes) use on the wire (ad.v1 `obs_u8` fields) and in
// the store's chunks. Decoding happens at the edges, so code between them
// keeps its int32 spans.
//
// Pure functions on caller-owned buffers; thread-safe.
#ifndef AD_COMMON_OBS_BYTES_H_
#define AD_COMMON_OBS_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace ad {

// Writes each value of `obs` as one byte to `out` (obs.size() bytes). Dies if
// a value lies outside [0, 256): callers pass values an env produced or the
// store checked against an obs_high <= 256 (a programmer error otherwise).
void ObsToBytes(absl::Span<const int32_t> obs, uint8_t* out);
// Replaces `out` with the bytes of `obs`.
void ObsToBytes(absl::Span<const int32_t> obs, std::string* out);

// Widens `bytes` into `out` (one value in [0, 256) per byte); dies unless
// out.size() == bytes.size().
void ObsFromBytes(absl::string_view bytes, absl::Span<int32_t> out);

// Checks the two observation fields of a wire message (ad.v1 TransitionBatch
// or StepBatch): at most one of `obs` (int32 values, `obs_size` of them) and
// `obs_u8` (`obs_u8_size` bytes) may be non-empty, and the one used must hold
// `want` values. INVALID_ARGUMENT naming `message` (e.g. "chunk") and the
// field otherwise.
absl::Status CheckObsFields(absl::string_view message, size_t obs_size,
                            size_t obs_u8_size, size_t want);

}  // namespace ad

#endif  // AD_COMMON_OBS_BYTES_H_
