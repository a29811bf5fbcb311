// Fuzzes the store's append path: the input is a stream of ad.v1.AppendRequest
// (fuzz/proto_stream.h framing), as one client's Append stream would send
// them, each handled by services::store::AppendFromProto -- the function the
// gRPC handler calls -- against a real TrajectoryStore in a temporary RocksDB
// directory, opened once per process.
//
// Besides "no crash, no sanitizer report", it checks what the store promises
// about everything it accepts: the history's record has the acknowledged
// length, its transitions read back, every reward is finite, every action in
// [0, num_actions), every done byte 0/1, and observations of a known family
// lie in the family's range. At the end of each input every history it
// created is deleted again and the store must be empty, with no env shape
// left pinned, so inputs do not influence one another.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ad/v1/store.pb.h"
#include "fuzz/proto_stream.h"
#include "glog/logging.h"
#include "services/store/proto_convert.h"
#include "storage/env_shape.h"
#include "storage/trajectory_store.h"

namespace ad::fuzz {
namespace {

constexpr size_t kMaxRequests = 32;

class Fixture {
 public:
  Fixture() {
    std::string tmpl =
        std::filesystem::temp_directory_path() / "ad_store_append_fuzz_XXXXXX";
    CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
    storage::TrajectoryStore::Options options;
    options.path = path_;
    options.block_cache_bytes = 16 << 20;
    options.write_buffer_bytes = 4 << 20;
    options.chunk_cache_bytes = 2 << 20;
    options.max_chunk_transitions = 4096;
    auto store = storage::TrajectoryStore::Open(options);
    CHECK(store.ok()) << store.status();
    store_ = std::move(store).value();
  }
  ~Fixture() {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  storage::TrajectoryStore& store() { return *store_; }

 private:
  std::string path_;
  std::unique_ptr<storage::TrajectoryStore> store_;
};

// Dies unless the stored history `id` holds what Append promised.
void CheckStored(storage::TrajectoryStore& store, const std::string& id,
                 const storage::TrajectoryStore::AppendResult& ack) {
  absl::StatusOr<storage::HistoryRecord> record = store.GetHistory(id);
  CHECK(record.ok()) << record.status();
  CHECK_EQ(record->length, ack.length);
  CHECK_GE(record->next_seq, ack.seq + 1);
  CHECK_EQ(record->episodes, record->episode_returns.size());
  absl::StatusOr<storage::Transitions> stored =
      store.ReadRange(id, 0, record->length);
  CHECK(stored.ok()) << stored.status();
  CHECK_EQ(stored->size(), record->length);
  CHECK_EQ(stored->obs_dim, record->obs_dim);
  CHECK_EQ(stored->obs.size(), record->length * record->obs_dim);
  uint64_t dones = 0;
  for (size_t t = 0; t < stored->size(); ++t) {
    CHECK(std::isfinite(stored->rewards[t])) << id << " t=" << t;
    CHECK_GE(stored->actions[t], 0);
    CHECK_LT(static_cast<uint32_t>(stored->actions[t]), record->num_actions);
    CHECK_LE(stored->dones[t], 1);
    dones += stored->dones[t];
  }
  CHECK_EQ(dones, record->episodes);
  if (std::optional<storage::FamilySpace> family =
          storage::KnownFamilySpace(record->env)) {
    CHECK(storage::ShapeOf(*record) == family->shape) << record->env;
    CHECK(storage::CheckObservations(stored->view(), *family).ok());
  }
  absl::StatusOr<storage::EnvShape> pinned = store.GetEnvShape(record->env);
  CHECK(pinned.ok()) << pinned.status();
  CHECK(*pinned == storage::ShapeOf(*record));
}

}  // namespace
}  // namespace ad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ad::fuzz::Fixture* fixture = new ad::fuzz::Fixture();
  static const int at_exit = std::atexit([] { delete fixture; });
  (void)at_exit;
  ad::storage::TrajectoryStore& store = fixture->store();

  const std::vector<ad::v1::AppendRequest> requests =
      ad::fuzz::ParseStream<ad::v1::AppendRequest>(data, size,
                                                   ad::fuzz::kMaxRequests);
  std::set<std::string> created;
  std::set<std::string> envs;
  for (const ad::v1::AppendRequest& request : requests) {
    absl::StatusOr<ad::storage::TrajectoryStore::AppendResult> ack =
        ad::services::store::AppendFromProto(request, store);
    if (!ack.ok()) {
      // Errors are values with a bounded message, never a crash.
      CHECK_NE(ack.status().code(), absl::StatusCode::kOk);
      CHECK_LE(ack.status().message().size(), 4096u) << ack.status();
      continue;
    }
    created.insert(request.history_id());
    ad::fuzz::CheckStored(store, request.history_id(), *ack);
    envs.insert(store.GetHistory(request.history_id())->env);
  }
  for (const std::string& id : created) {
    absl::StatusOr<ad::storage::HistoryRecord> deleted =
        store.DeleteHistory(id);
    CHECK(deleted.ok()) << deleted.status();
  }
  const ad::storage::TrajectoryStore::Stats stats = store.GetStats();
  CHECK_EQ(stats.histories, 0u);
  CHECK_EQ(stats.transitions, 0u);
  CHECK_EQ(stats.tasks, 0u);
  for (const std::string& env : envs) {
    CHECK_EQ(store.GetEnvShape(env).status().code(),
             absl::StatusCode::kNotFound)
        << env;
  }
  return 0;
}
