#include "actors/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ad/v1/store.pb.h"
#include "common/obs_bytes.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace ad::actors {
namespace {

constexpr char kMagic[] = "ADHIST01";
constexpr size_t kMagicLen = 8;
constexpr char kSuffix[] = ".adh";

std::string EscapeName(const std::string& id) {
  std::string out;
  for (unsigned char c : id) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '=' || c == ',' || c == '-';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes all of `data` to `fd`, retrying short writes.
absl::Status WriteAll(int fd, const std::string& data,
                      const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(
      path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open for fsync", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync", path);
  return absl::OkStatus();
}

}  // namespace

absl::Status FileSink::Options::Validate() const {
  if (directory.empty()) {
    return absl::InvalidArgumentError("FileSink: directory must be non-empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Create(Options options) {
  AD_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  std::filesystem::create_directories(options.directory, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(
        "FileSink: cannot create ", options.directory, ": ", ec.message()));
  }
  return std::unique_ptr<FileSink>(new FileSink(std::move(options)));
}

std::string FileSink::PathFor(const std::string& history_id) const {
  return absl::StrCat(options_.directory, "/", EscapeName(history_id), kSuffix);
}

absl::Status FileSink::Append(const ad::v1::HistoryMeta& meta,
                              const TransitionChunk& chunk, bool final) {
  AD_RETURN_IF_ERROR(ValidateChunk(meta, chunk));
  const ad::v1::AppendRequest request = MakeAppendRequest(meta, chunk, final);
  std::string body;
  if (!request.SerializeToString(&body)) {
    return absl::InternalError("FileSink: cannot serialise AppendRequest");
  }
  std::string record(4, '\0');
  const auto len = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) record[i] = static_cast<char>(len >> (8 * i));
  record += body;

  const std::string path = PathFor(meta.history_id());
  absl::MutexLock lock(&mu_);
  HistoryState& state = histories_[meta.history_id()];
  if (state.finalized) {
    return absl::FailedPreconditionError(
        absl::StrCat("history ", meta.history_id(), " was already finalised"));
  }
  if (chunk.seq != state.next_seq) {
    return absl::InvalidArgumentError(
        absl::StrCat("history ", meta.history_id(), ": chunk.seq is ",
                     chunk.seq, ", expected ", state.next_seq));
  }
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  if (chunk.seq == 0) flags |= O_TRUNC;  // a new history replaces a stale file
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    absl::Status s = ErrnoError("open", path);
    if (first_error_.ok()) first_error_ = s;
    return s;
  }
  absl::Status s = absl::OkStatus();
  if (chunk.seq == 0) s = WriteAll(fd, std::string(kMagic, kMagicLen), path);
  if (s.ok()) s = WriteAll(fd, record, path);
  ::close(fd);
  if (!s.ok()) {
    if (first_error_.ok()) first_error_ = s;
    return s;
  }
  dirty_paths_.insert(path);
  ++state.next_seq;
  state.finalized = final;
  return absl::OkStatus();
}

absl::Status FileSink::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (!dirty_paths_.empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "FileSink::Flush: ", dirty_paths_.size(), " files left unsynced"));
    }
    const std::string path = *dirty_paths_.begin();
    dirty_paths_.erase(dirty_paths_.begin());
    absl::Status s = SyncPath(path, /*directory=*/false);
    if (!s.ok() && first_error_.ok()) first_error_ = s;
  }
  absl::Status s = SyncPath(options_.directory, /*directory=*/true);
  if (!s.ok() && first_error_.ok()) first_error_ = s;
  absl::Status result = first_error_;
  first_error_ = absl::OkStatus();
  return result;
}

absl::StatusOr<RecordedHistory> ReadHistoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  if (data.size() < kMagicLen || data.compare(0, kMagicLen, kMagic) != 0) {
    return absl::DataLossError(
        absl::StrCat(path, ": not a history file (bad magic)"));
  }
  RecordedHistory h;
  bool have_meta = false;
  bool complete = false;
  uint64_t next_seq = 0;
  size_t pos = kMagicLen;
  while (pos < data.size()) {
    if (complete) {
      return absl::DataLossError(absl::StrCat(path, ": record at byte ", pos,
                                              " follows the final chunk"));
    }
    if (data.size() - pos < 4) {
      LOG(WARNING) << path << ": dropping a truncated record header at byte "
                   << pos;
      break;
    }
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) {
      len |= static_cast<uint32_t>(static_cast<unsigned char>(data[pos + i]))
             << (8 * i);
    }
    if (data.size() - pos - 4 < len) {
      LOG(WARNING) << path << ": dropping a truncated record at byte " << pos;
      break;
    }
    ad::v1::AppendRequest request;
    if (!request.ParseFromArray(data.data() + pos + 4, static_cast<int>(len))) {
      return absl::DataLossError(
          absl::StrCat(path, ": malformed record at byte ", pos));
    }
    if (request.seq() != next_seq) {
      return absl::DataLossError(absl::StrCat(path, ": record at byte ", pos,
                                              " has seq ", request.seq(),
                                              ", expected ", next_seq));
    }
    if (request.seq() == 0) {
      h.meta = request.meta();
      h.transitions.set_obs_dim(h.meta.obs_dim());
      have_meta = true;
    }
    const ad::v1::TransitionBatch& c = request.chunk();
    if (c.obs_dim() != h.meta.obs_dim() ||
        c.rewards_size() != c.actions_size() ||
        static_cast<int>(c.dones().size()) != c.actions_size() ||
        !CheckObsFields(
             "chunk", c.obs_size(), c.obs_u8().size(),
             static_cast<size_t>(c.actions_size()) * h.meta.obs_dim())
             .ok()) {
      return absl::DataLossError(absl::StrCat(path, ": record at byte ", pos,
                                              " has inconsistent array sizes"));
    }
    // Pixel families' records hold obs_u8; the history reads back as int32.
    google::protobuf::RepeatedField<int32_t>* obs = h.transitions.mutable_obs();
    if (c.obs_u8().empty()) {
      obs->Add(c.obs().begin(), c.obs().end());
    } else {
      const int at = obs->size();
      obs->Resize(at + static_cast<int>(c.obs_u8().size()), 0);
      ObsFromBytes(c.obs_u8(),
                   absl::MakeSpan(obs->mutable_data() + at, c.obs_u8().size()));
    }
    h.transitions.mutable_actions()->Add(c.actions().begin(),
                                         c.actions().end());
    h.transitions.mutable_rewards()->Add(c.rewards().begin(),
                                         c.rewards().end());
    h.transitions.mutable_dones()->append(c.dones());
    complete = request.final();
    ++next_seq;
    pos += 4 + len;
  }
  if (!have_meta) {
    return absl::DataLossError(
        absl::StrCat(path, ": no complete first record"));
  }
  // The summary fields the store would fill in.
  double episode_return = 0;
  const int n = h.transitions.actions_size();
  for (int i = 0; i < n; ++i) {
    episode_return += h.transitions.rewards(i);
    if (h.transitions.dones()[i] != 0) {
      h.meta.add_episode_returns(static_cast<float>(episode_return));
      episode_return = 0;
    }
  }
  h.meta.set_length(static_cast<uint64_t>(n));
  h.meta.set_episodes(static_cast<uint64_t>(h.meta.episode_returns_size()));
  h.meta.set_complete(complete);
  return h;
}

absl::StatusOr<std::vector<std::string>> ListHistoryFiles(
    const std::string& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    return absl::NotFoundError(
        absl::StrCat("history directory ", directory, " does not exist"));
  }
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == kSuffix) {
      paths.push_back(entry.path().string());
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("listing ", directory, ": ", ec.message()));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

absl::StatusOr<std::vector<RecordedHistory>> ReadHistoryDirectory(
    const std::string& directory) {
  AD_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                      ListHistoryFiles(directory));
  std::vector<RecordedHistory> out;
  out.reserve(paths.size());
  for (const std::string& path : paths) {
    AD_ASSIGN_OR_RETURN(RecordedHistory h, ReadHistoryFile(path));
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace ad::actors
