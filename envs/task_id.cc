#include "envs/task_id.h"

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/text_escape.h"

namespace ad::envs {
namespace {

constexpr size_t kMaxDigits = 9;  // keeps every value inside int32_t

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

}  // namespace

TaskIdReader::TaskIdReader(std::string_view task_id,
                           std::string_view expected_form)
    : task_id_(task_id), expected_form_(expected_form) {}

absl::Status TaskIdReader::Malformed(std::string_view what) const {
  const std::string_view found =
      pos_ < task_id_.size() ? task_id_.substr(pos_) : "end of id";
  return absl::InvalidArgumentError(absl::StrFormat(
      "malformed task id \"%s\" (expected \"%s\"): %s at position %d, found "
      "\"%s\"",
      EscapeForMessage(task_id_), expected_form_, what, pos_,
      EscapeForMessage(found)));
}

absl::Status TaskIdReader::Literal(std::string_view literal) {
  if (task_id_.substr(pos_, literal.size()) != literal) {
    return Malformed(absl::StrFormat("expected \"%s\"", literal));
  }
  pos_ += literal.size();
  return absl::OkStatus();
}

absl::StatusOr<int32_t> TaskIdReader::Int(std::string_view field) {
  size_t end = pos_;
  while (end < task_id_.size() && IsDigit(task_id_[end])) ++end;
  const size_t digits = end - pos_;
  if (digits == 0) {
    return Malformed(
        absl::StrFormat("expected a non-negative integer %s", field));
  }
  if (digits > 1 && task_id_[pos_] == '0') {
    return Malformed(absl::StrFormat("%s has a leading zero", field));
  }
  if (digits > kMaxDigits) {
    return Malformed(
        absl::StrFormat("%s has more than %d digits", field, kMaxDigits));
  }
  int32_t value = 0;
  for (size_t i = pos_; i < end; ++i) value = value * 10 + (task_id_[i] - '0');
  pos_ = end;
  return value;
}

absl::StatusOr<std::string_view> TaskIdReader::Word(std::string_view field) {
  size_t end = pos_;
  while (end < task_id_.size() && IsLower(task_id_[end])) ++end;
  if (end == pos_) {
    return Malformed(absl::StrFormat("expected a lowercase word %s", field));
  }
  const std::string_view word = task_id_.substr(pos_, end - pos_);
  pos_ = end;
  return word;
}

absl::Status TaskIdReader::End() const {
  if (pos_ != task_id_.size()) return Malformed("unexpected trailing text");
  return absl::OkStatus();
}

std::string EscapeForMessage(std::string_view text) {
  return BoundedEcho(absl::string_view(text.data(), text.size()));
}

absl::Status CheckTaskRange(std::string_view task_id, std::string_view field,
                            int64_t value, int64_t lo, int64_t hi) {
  if (value >= lo && value < hi) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrFormat("task id \"%s\" names no task: %s = %d is outside [%d, "
                      "%d)",
                      EscapeForMessage(task_id), field, value, lo, hi));
}

}  // namespace ad::envs
