// Parsing of task ids such as "darkroom/goal=3,7" with errors that say what
// is wrong.
//
// A TaskIdReader walks an id left to right against the family's expected
// form: each call consumes one piece (a literal, an integer, a word) and the
// first mismatch becomes an INVALID_ARGUMENT naming the id, the expected
// form and what was found at which position. Integers are canonical decimal
// (no sign, no leading zeros, at most 9 digits), so every task has exactly
// one id. Range checks are left to the family (they are NOT_FOUND: the id is
// well-formed but names no task); CheckTaskRange builds that error.
#ifndef AD_ENVS_TASK_ID_H_
#define AD_ENVS_TASK_ID_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ad::envs {

class TaskIdReader {
 public:
  // `expected_form` is quoted in errors, e.g. "darkroom/goal=X,Y". Both
  // strings are borrowed and must outlive the reader.
  TaskIdReader(std::string_view task_id, std::string_view expected_form);

  // Consumes exactly `literal`.
  absl::Status Literal(std::string_view literal);
  // Consumes a canonical non-negative decimal integer; `field` names it.
  absl::StatusOr<int32_t> Int(std::string_view field);
  // Consumes a non-empty run of lowercase letters; `field` names it.
  absl::StatusOr<std::string_view> Word(std::string_view field);
  // OK when the whole id has been consumed.
  absl::Status End() const;

 private:
  absl::Status Malformed(std::string_view what) const;

  std::string_view task_id_;
  std::string_view expected_form_;
  size_t pos_ = 0;
};

// `text` for error messages: control and non-ASCII bytes escaped, and cut
// to its first kEchoPrefixBytes bytes (common/text_escape.h) so a huge id
// cannot push a message past gRPC's metadata limit.
std::string EscapeForMessage(std::string_view text);

// NOT_FOUND unless lo <= value < hi, naming the task id and the field.
absl::Status CheckTaskRange(std::string_view task_id, std::string_view field,
                            int64_t value, int64_t lo, int64_t hi);

}  // namespace ad::envs

#endif  // AD_ENVS_TASK_ID_H_
