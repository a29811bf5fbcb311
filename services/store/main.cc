// ad-store: the durable trajectory store (storage/) served over gRPC
// (StoreService, see services/store/store_service.h), with health,
// reflection, /metrics and clean SIGTERM shutdown from services/common.
//
//   ad-store --db=/var/lib/ad/store --port=50052 --metrics_port=9103
//            --block_cache_mb=256 --checkpoint_dir=/var/lib/ad/checkpoints
//
// Durability: an acknowledged chunk is in RocksDB's write-ahead log. Without
// --sync it survives the store process being killed (SIGKILL, crash); with
// --sync the WAL is fsync'ed per append and it also survives power loss.
#include <memory>

#include "absl/flags/flag.h"
#include "glog/logging.h"
#include "services/common/binary_init.h"
#include "services/common/flags.h"
#include "services/common/server.h"
#include "services/store/store_service.h"
#include "storage/trajectory_store.h"

ABSL_FLAG(std::string, db, "", "RocksDB directory of the store (required)");
ABSL_FLAG(int, block_cache_mb, 256,
          "RocksDB block cache in MiB (also pays for memtables, index and "
          "filter blocks)");
ABSL_FLAG(int, write_buffer_mb, 64,
          "Memtable budget in MiB, charged to the block cache");
ABSL_FLAG(int, chunk_cache_mb, 64,
          "Decoded-chunk cache of the window sampler in MiB");
ABSL_FLAG(bool, sync, false,
          "fsync the WAL on every append (survives power loss, slower)");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "Checkpoint requests create directories under this one (default: "
          "<db>-checkpoints)");
ABSL_FLAG(uint32_t, max_batch_size, 4096, "Largest SampleWindows batch_size");
ABSL_FLAG(uint32_t, max_window_len, 16384, "Largest SampleWindows window_len");

int main(int argc, char** argv) {
  ad::services::InitServiceBinary(
      argc, argv,
      "Serves the trajectory store (RocksDB) over gRPC: StoreService.",
      ad::services::SecurityRole::kServer);

  ad::services::ServerOptions server_options =
      ad::services::ServerOptionsFromFlags("ad-store", /*default_port=*/50052,
                                           /*default_metrics_port=*/9103);
  ad::storage::TrajectoryStore::Options store_options;
  store_options.path = absl::GetFlag(FLAGS_db);
  store_options.block_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  store_options.write_buffer_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;
  store_options.chunk_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_chunk_cache_mb)) << 20;
  store_options.sync = absl::GetFlag(FLAGS_sync);
  ad::services::store::StoreServiceImpl::Options service_options;
  service_options.max_message_bytes = server_options.max_message_bytes;
  service_options.max_batch_size = absl::GetFlag(FLAGS_max_batch_size);
  service_options.max_window_len = absl::GetFlag(FLAGS_max_window_len);
  service_options.checkpoint_root = absl::GetFlag(FLAGS_checkpoint_dir);
  if (service_options.checkpoint_root.empty() && !store_options.path.empty()) {
    service_options.checkpoint_root = store_options.path + "-checkpoints";
  }
  for (const absl::Status& status :
       {server_options.Validate(), store_options.Validate(),
        service_options.Validate()}) {
    if (!status.ok()) {
      LOG(ERROR) << status;
      return 2;
    }
  }

  auto store = ad::storage::TrajectoryStore::Open(store_options);
  if (!store.ok()) {
    LOG(ERROR) << store.status();
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  absl::Status status;
  {
    ad::services::store::StoreServiceImpl service(service_options, store->get(),
                                                  *registry);
    status = ad::services::RunServer(server_options, {&service}, registry);
  }
  store->reset();  // closes RocksDB cleanly after the last RPC
  if (!status.ok()) {
    LOG(ERROR) << status;
    return 1;
  }
  return 0;
}
