// Safe ways to put untrusted text into messages and files: a bounded echo of
// an input for error messages and logs, and RFC 4180 quoting of one CSV
// field. Used by the store (error messages must stay far below gRPC's 8 KiB
// metadata limit whatever a client sends) and by adctl's exports (an id with
// a comma, quote or newline must stay one field of one row).
//
// Pure functions, thread-safe.
#ifndef AD_COMMON_TEXT_ESCAPE_H_
#define AD_COMMON_TEXT_ESCAPE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace ad {

// Longest part of an input that BoundedEcho repeats, in bytes.
inline constexpr size_t kEchoPrefixBytes = 64;

// `value` for an error message: its first `max_bytes` bytes, C-escaped
// (control and non-ASCII bytes become \n, \x01, ...; so a message stays one
// printable line), followed by "...(N bytes)" when it was longer. At most
// 4 * max_bytes + 32 characters whatever the input.
std::string BoundedEcho(absl::string_view value,
                        size_t max_bytes = kEchoPrefixBytes);

// One CSV field per RFC 4180: `value` unchanged when it holds no comma,
// double quote, CR or LF; otherwise wrapped in double quotes with each
// double quote doubled. A reader splitting on unquoted commas and line
// breaks gets `value` back byte for byte.
std::string CsvField(absl::string_view value);

}  // namespace ad

#endif  // AD_COMMON_TEXT_ESCAPE_H_
