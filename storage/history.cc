#include "storage/history.h"

#include "absl/strings/str_cat.h"
#include "common/history_id.h"
#include "common/text_escape.h"

namespace ad::storage {
namespace {

absl::Status ValidateName(const char* field, const std::string& value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta.", field, " must not be empty"));
  }
  if (value.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta.", field, " has ", value.size(),
                     " characters; at most ", kMaxNameLength, " allowed"));
  }
  if (value.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta.", field, " must not contain NUL bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateHistoryId(const std::string& history_id) {
  if (history_id.empty()) {
    return absl::InvalidArgumentError("history_id must not be empty");
  }
  if (history_id.size() > kMaxHistoryIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("history_id has ", history_id.size(),
                     " characters; at most ", kMaxHistoryIdLength, " allowed"));
  }
  for (char c : history_id) {
    if (!IsHistoryIdChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("history_id '", BoundedEcho(history_id),
                       "' has a character outside ", kHistoryIdAlphabet));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateNewHistory(const HistoryRecord& record) {
  if (absl::Status s = ValidateHistoryId(record.history_id); !s.ok()) return s;
  if (absl::Status s = ValidateName("env", record.env); !s.ok()) return s;
  if (absl::Status s = ValidateName("task_id", record.task_id); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateName("source", record.source); !s.ok()) {
    return s;
  }
  if (record.split != kTrainSplit && record.split != kTestSplit) {
    return absl::InvalidArgumentError(
        absl::StrCat("meta.split is '", BoundedEcho(record.split),
                     "'; must be 'train' or 'test'"));
  }
  if (record.obs_dim == 0) {
    return absl::InvalidArgumentError("meta.obs_dim must be at least 1");
  }
  if (record.num_actions == 0) {
    return absl::InvalidArgumentError(
        "meta.num_actions must be at least 1 (actions lie in [0, "
        "num_actions))");
  }
  return absl::OkStatus();
}

bool SameIdentity(const HistoryRecord& a, const HistoryRecord& b) {
  return a.history_id == b.history_id && a.env == b.env &&
         a.task_id == b.task_id && a.source == b.source && a.seed == b.seed &&
         a.stream == b.stream && a.split == b.split && a.obs_dim == b.obs_dim &&
         a.num_actions == b.num_actions;
}

}  // namespace ad::storage
