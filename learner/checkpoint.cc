#include "learner/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "learner/torch_status.h"

namespace ad::learner {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kFormatVersion = 1;
constexpr absl::string_view kPrefix = "ckpt-";
constexpr absl::string_view kSuffix = ".pt";

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " '", path, "': ", std::strerror(errno)));
}

absl::Status WriteAllAndSync(int fd, absl::string_view data,
                             const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return ErrnoStatus("fsync", path);
  return absl::OkStatus();
}

// Reads the parts every checkpoint has into `out`; the model is built with
// the stored config and loaded on `device`.
absl::Status ReadArchive(torch::serialize::InputArchive& archive,
                         const torch::Device& device, Checkpoint& out) {
  c10::IValue version;
  if (!archive.try_read("format", version) || !version.isInt()) {
    return absl::InvalidArgumentError(
        "not an AD learner checkpoint (no 'format' entry)");
  }
  if (version.toInt() != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint format ", version.toInt(),
        " is not supported (this build reads ", kFormatVersion, ")"));
  }
  c10::IValue config_text;
  c10::IValue step;
  if (!archive.try_read("config", config_text) || !config_text.isString() ||
      !archive.try_read("step", step) || !step.isInt()) {
    return absl::InvalidArgumentError(
        "checkpoint lacks its 'config' or 'step' entry");
  }
  AD_ASSIGN_OR_RETURN(
      out.config, ParseConfig(config_text.toStringRef(), "checkpoint config"));
  out.step = step.toInt();
  torch::Tensor rng;
  if (archive.try_read("rng", rng)) out.rng_state = rng;
  AD_ASSIGN_OR_RETURN(out.model, CreateModel(out.config.model, device));
  return TorchCall(
      [&] {
        torch::serialize::InputArchive model_archive;
        archive.read("model", model_archive);
        out.model->load(model_archive);
        out.model->to(device);
      },
      "checkpoint model");
}

std::optional<int64_t> StepOfName(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, kPrefix) ||
      !absl::ConsumeSuffix(&name, kSuffix)) {
    return std::nullopt;
  }
  int64_t step = 0;
  if (!absl::SimpleAtoi(name, &step) || step < 0) return std::nullopt;
  return step;
}

}  // namespace

absl::StatusOr<std::string> SerializeCheckpoint(
    const CheckpointContents& contents) {
  CHECK(contents.config != nullptr && contents.model) << "incomplete contents";
  std::string bytes;
  AD_RETURN_IF_ERROR(TorchCall(
      [&] {
        torch::serialize::OutputArchive archive;
        archive.write("format", c10::IValue(kFormatVersion));
        archive.write("config", c10::IValue(FormatConfig(*contents.config)));
        archive.write("step", c10::IValue(contents.step));
        if (contents.rng_state.defined()) {
          archive.write("rng", contents.rng_state);
        }
        torch::serialize::OutputArchive model_archive;
        contents.model->save(model_archive);
        archive.write("model", model_archive);
        if (contents.optimizer != nullptr) {
          torch::serialize::OutputArchive optimizer_archive;
          contents.optimizer->save(optimizer_archive);
          archive.write("optimizer", optimizer_archive);
        }
        archive.save_to([&bytes](const void* data, size_t size) {
          bytes.append(static_cast<const char*>(data), size);
          return size;
        });
      },
      "serialize checkpoint"));
  return bytes;
}

absl::Status WriteCheckpoint(const std::string& path,
                             const CheckpointContents& contents) {
  AD_ASSIGN_OR_RETURN(std::string bytes, SerializeCheckpoint(contents));
  fs::path final_path(path);
  fs::path dir = final_path.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp = (dir / absl::StrCat(".tmp-", final_path.filename().string(),
                                        "-", ::getpid()))
                        .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", tmp);
  absl::Status written = WriteAllAndSync(fd, bytes, tmp);
  if (::close(fd) != 0 && written.ok()) written = ErrnoStatus("close", tmp);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoStatus("rename to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename itself durable.
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<Checkpoint> LoadCheckpointFromBytes(
    absl::string_view bytes, const torch::Device& device) {
  torch::serialize::InputArchive archive;
  AD_RETURN_IF_ERROR(
      TorchCall([&] { archive.load_from(bytes.data(), bytes.size(), device); },
                "read checkpoint"));
  Checkpoint out;
  AD_RETURN_IF_ERROR(ReadArchive(archive, device, out));
  return out;
}

absl::StatusOr<Checkpoint> LoadCheckpoint(const std::string& path,
                                          const torch::Device& device) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open checkpoint '", path, "'"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto checkpoint = LoadCheckpointFromBytes(buffer.str(), device);
  if (!checkpoint.ok()) {
    return absl::Status(
        checkpoint.status().code(),
        absl::StrCat(path, ": ", checkpoint.status().message()));
  }
  return checkpoint;
}

absl::Status LoadOptimizerState(const std::string& path,
                                torch::optim::Optimizer& optimizer) {
  return TorchCall(
      [&] {
        torch::serialize::InputArchive archive;
        archive.load_from(path);
        torch::serialize::InputArchive optimizer_archive;
        archive.read("optimizer", optimizer_archive);
        optimizer.load(optimizer_archive);
      },
      absl::StrCat("optimizer state of ", path));
}

absl::Status CheckpointDir::Options::Validate() const {
  if (directory.empty()) {
    return absl::InvalidArgumentError("checkpoint directory: must be set");
  }
  if (keep < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint keep = ", keep, ": must be >= 1"));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointDir> CheckpointDir::Open(const Options& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  std::error_code ec;
  fs::create_directories(options.directory, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(
        "cannot create '", options.directory, "': ", ec.message()));
  }
  return CheckpointDir(options);
}

std::string CheckpointDir::PathForStep(int64_t step) const {
  return (fs::path(options_.directory) /
          absl::StrFormat("%s%012d%s", kPrefix, step, kSuffix))
      .string();
}

absl::StatusOr<std::string> CheckpointDir::Save(
    const CheckpointContents& contents) {
  std::string path = PathForStep(contents.step);
  AD_RETURN_IF_ERROR(WriteCheckpoint(path, contents));
  AD_ASSIGN_OR_RETURN(std::vector<CheckpointFile> files, List());
  const int excess = static_cast<int>(files.size()) - options_.keep;
  for (int i = 0; i < excess; ++i) {
    std::error_code ec;
    fs::remove(files[i].path, ec);
    if (ec) {
      LOG(WARNING) << "cannot delete old checkpoint " << files[i].path << ": "
                   << ec.message();
    }
  }
  return path;
}

absl::StatusOr<std::vector<CheckpointFile>> CheckpointDir::List() const {
  std::vector<CheckpointFile> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    std::optional<int64_t> step = StepOfName(entry.path().filename().string());
    if (!step.has_value() || !entry.is_regular_file()) continue;
    std::error_code size_ec;
    uint64_t bytes = entry.file_size(size_ec);
    if (size_ec) continue;  // deleted while listing
    files.push_back({*step, entry.path().string(), bytes});
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list '", options_.directory, "': ", ec.message()));
  }
  std::sort(files.begin(), files.end(),
            [](const CheckpointFile& a, const CheckpointFile& b) {
              return a.step < b.step;
            });
  return files;
}

absl::StatusOr<std::optional<CheckpointFile>> CheckpointDir::Latest() const {
  AD_ASSIGN_OR_RETURN(std::vector<CheckpointFile> files, List());
  if (files.empty()) return std::optional<CheckpointFile>();
  return std::optional<CheckpointFile>(files.back());
}

absl::StatusOr<CheckpointFile> CheckpointDir::Find(int64_t step) const {
  AD_ASSIGN_OR_RETURN(std::vector<CheckpointFile> files, List());
  for (const CheckpointFile& f : files) {
    if (f.step == step) return f;
  }
  return absl::NotFoundError(absl::StrCat("no checkpoint of step ", step,
                                          " in '", options_.directory, "'"));
}

}  // namespace ad::learner
