// Test helpers for the store service: an in-process ad-store (store +
// service + server on a free port) over a temporary RocksDB directory, and
// wire-format chunks whose transitions encode their origin (see
// storage/test_util.h).
#ifndef AD_SERVICES_STORE_STORE_TEST_UTIL_H_
#define AD_SERVICES_STORE_STORE_TEST_UTIL_H_

#include <glog/logging.h>

#include <memory>
#include <string>

#include "actors/history_sink.h"
#include "ad/v1/store.grpc.pb.h"
#include "services/common/server.h"
#include "services/store/proto_convert.h"
#include "services/store/store_service.h"
#include "storage/test_util.h"
#include "storage/trajectory_store.h"

namespace ad::services::store::testing {

class InProcessStore {
 public:
  // Opens a store in a fresh temp dir and serves it on `port` (0: free).
  explicit InProcessStore(int port = 0) : registry_(new prometheus::Registry) {
    storage::TrajectoryStore::Options options;
    options.path = dir_.Sub("db");
    options.block_cache_bytes = 16 << 20;
    options.write_buffer_bytes = 4 << 20;
    options.chunk_cache_bytes = 4 << 20;
    auto store = storage::TrajectoryStore::Open(options);
    CHECK(store.ok()) << store.status();
    store_ = std::move(store).value();
    service_options_.checkpoint_root = dir_.Sub("checkpoints");
    service_options_.max_message_bytes = 4 << 20;
    Serve(port);
  }
  ~InProcessStore() { Stop(); }

  void Serve(int port) {
    service_ = std::make_unique<StoreServiceImpl>(service_options_,
                                                  store_.get(), *registry_);
    ServerOptions options;
    options.name = "store-test";
    options.port = port;
    options.metrics_port = -1;
    options.max_message_bytes = service_options_.max_message_bytes;
    auto server = Server::Start(options, {service_.get()}, nullptr);
    CHECK(server.ok()) << server.status();
    server_ = std::move(server).value();
  }
  void Stop() {
    if (server_ != nullptr) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    service_.reset();
  }

  std::string address() const { return server_->address(); }
  int port() const { return server_->port(); }
  storage::TrajectoryStore& store() { return *store_; }
  const storage::testing::TempDir& dir() const { return dir_; }

 private:
  storage::testing::TempDir dir_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<storage::TrajectoryStore> store_;
  StoreServiceImpl::Options service_options_;
  std::unique_ptr<StoreServiceImpl> service_;
  std::unique_ptr<Server> server_;
};

inline ad::v1::HistoryMeta WireMeta(
    const std::string& id, const std::string& task = "darkroom/goal=1,1",
    const std::string& split = "train") {
  ad::v1::HistoryMeta meta;
  meta.set_history_id(id);
  meta.set_env(storage::testing::kSyntheticEnv);
  meta.set_task_id(task);
  meta.set_source("a3c");
  meta.set_split(split);
  meta.set_obs_dim(2);
  meta.set_num_actions(5);
  return meta;
}

// Chunk `seq` of `n` transitions starting at `first` of a history tagged
// `tag` (obs = {tag, t}).
inline ad::actors::TransitionChunk WireChunk(int tag, uint64_t seq,
                                             uint64_t first, uint64_t n) {
  ad::actors::TransitionChunk chunk;
  chunk.seq = seq;
  chunk.first = first;
  const storage::Transitions t =
      storage::testing::MakeTransitions(tag, first, n);
  ToProto(t.view(), &chunk.transitions);
  for (uint64_t i = 0; i < n; ++i) {
    if (t.dones[i]) chunk.episode_returns.push_back(1.5f);
  }
  return chunk;
}

}  // namespace ad::services::store::testing

#endif  // AD_SERVICES_STORE_STORE_TEST_UTIL_H_
