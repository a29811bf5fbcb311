// ad-learner: trains the Algorithm Distillation transformer on windows
// sampled from the trajectory store, checkpoints it, and serves
// LearnerService (status, checkpoint listing and download) with health,
// reflection, /metrics and clean SIGTERM shutdown from services/common.
//
//   ad-learner --store=127.0.0.1:50052 --preset=cpu-demo
//              --checkpoint_dir=runs/demo/checkpoints --threads=2
//              [--steps=N] [--set='train.batch_size=64;model.dropout=0']
//              [--export_torchscript=runs/demo/policy.ts] [--exit_when_done]
//
// Restarting with the same --checkpoint_dir resumes from the latest
// checkpoint: model, optimizer, RNG and schedule at the step it left. On
// SIGTERM the learner finishes its step, writes a checkpoint and exits.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_split.h"
#include "common/memory.h"
#include "common/overrides.h"
#include "glog/logging.h"
#include "learner/checkpoint.h"
#include "learner/config.h"
#include "learner/device.h"
#include "learner/export.h"
#include "learner/mixed_window_source.h"
#include "learner/prefetcher.h"
#include "learner/trainer.h"
#include "services/common/binary_init.h"
#include "services/common/client.h"
#include "services/common/flags.h"
#include "services/common/server.h"
#include "services/learner/learner_service.h"
#include "services/learner/store_window_source.h"

ABSL_FLAG(std::string, store, "127.0.0.1:50052", "ad-store address");
ABSL_FLAG(std::string, preset, "cpu-demo",
          "Built-in preset name (paper, cpu-demo, test) or path to a .cfg");
ABSL_FLAG(std::string, set, "",
          "Config overrides 'key=value;key=value' applied over the preset "
          "(common/overrides.h: a comma also separates assignments)");
ABSL_FLAG(std::string, checkpoint_dir, "runs/learner/checkpoints",
          "Checkpoint directory; an existing checkpoint there is resumed");
ABSL_FLAG(int64_t, steps, 0, "Train until this step (0: train.steps)");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads");
ABSL_FLAG(std::string, device, "auto", "auto, cpu, cuda or cuda:N");
ABSL_FLAG(std::string, export_torchscript, "",
          "Write the trained policy as TorchScript here when training ends");
ABSL_FLAG(bool, exit_when_done, false,
          "Exit when training ends instead of serving checkpoints until "
          "SIGTERM");
ABSL_FLAG(bool, progress, true, "Print a progress line on stderr");

namespace {

int Fail(const absl::Status& status) {
  LOG(ERROR) << status;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ad::services::InitServiceBinary(
      argc, argv,
      "Trains the AD transformer from ad-store windows; serves "
      "LearnerService.",
      ad::services::SecurityRole::kServerAndClient);
  namespace al = ad::learner;
  namespace sl = ad::services::learner;
  if (absl::Status s =
          ad::services::ValidateAddress(absl::GetFlag(FLAGS_store), "--store");
      !s.ok()) {
    LOG(ERROR) << s;
    return 2;
  }

  auto config = al::LoadConfig(absl::GetFlag(FLAGS_preset));
  if (!config.ok()) return Fail(config.status());
  const std::vector<std::string> overrides =
      ad::SplitOverrides(absl::GetFlag(FLAGS_set));
  if (absl::Status s = al::ApplyOverrides(overrides, *config); !s.ok()) {
    return Fail(s);
  }
  int64_t until_step = absl::GetFlag(FLAGS_steps);
  if (until_step <= 0) until_step = config->train.steps;

  if (absl::Status s = al::ConfigureThreads(absl::GetFlag(FLAGS_threads));
      !s.ok()) {
    return Fail(s);
  }
  auto device = al::SelectDevice(absl::GetFlag(FLAGS_device));
  if (!device.ok()) return Fail(device.status());

  auto trainer = al::Trainer::Create(*config, *device);
  if (!trainer.ok()) return Fail(trainer.status());
  auto dir = al::CheckpointDir::Open(
      {absl::GetFlag(FLAGS_checkpoint_dir), config->train.keep_checkpoints});
  if (!dir.ok()) return Fail(dir.status());
  auto latest = dir->Latest();
  if (!latest.ok()) return Fail(latest.status());
  if (latest->has_value()) {
    if (absl::Status s = (*trainer)->Restore((*latest)->path); !s.ok()) {
      return Fail(s);
    }
  }
  LOG(INFO) << "ad-learner: preset " << config->preset << ", "
            << (*trainer)->model()->NumParameters() << " parameters on "
            << al::DeviceName(*device) << " with "
            << absl::GetFlag(FLAGS_threads) << " threads, step "
            << (*trainer)->step() << " -> " << until_step;

  ad::services::ServerOptions server_options =
      ad::services::ServerOptionsFromFlags("ad-learner", /*default_port=*/50053,
                                           /*default_metrics_port=*/9104);
  auto registry = std::make_shared<prometheus::Registry>();
  sl::LearnerServiceImpl::Options service_options;
  service_options.checkpoint_dir = dir->directory();
  service_options.keep = config->train.keep_checkpoints;
  service_options.device = al::DeviceName(*device);
  service_options.preset = config->preset;
  if (absl::Status s = service_options.Validate(); !s.ok()) return Fail(s);
  sl::LearnerServiceImpl service(service_options, registry.get());
  service.SetStartingPoint((*trainer)->step(), until_step,
                           latest->has_value() ? (*latest)->step : 0);
  auto server =
      ad::services::Server::Start(server_options, {&service}, registry);
  if (!server.ok()) return Fail(server.status());
  ad::services::ShutdownOnSignal on_signal(server->get(), server_options.grace);

  // One store source per family of data.env ("darkroom" or, to train one
  // model on several families, "darkroom,darkroom_hard"), interleaved batch
  // by batch (learner/mixed_window_source.h); part i uses seed + i.
  const std::vector<std::string> families =
      absl::StrSplit(config->data.env, ',');
  std::vector<std::unique_ptr<al::WindowSource>> parts;
  for (size_t i = 0; i < families.size(); ++i) {
    sl::StoreWindowSource::Options source_options;
    source_options.client.address = absl::GetFlag(FLAGS_store);
    source_options.request.window_len = config->model.context_len;
    source_options.request.batch_size = config->train.batch_size;
    source_options.request.seed = config->train.seed + i;
    source_options.request.first_batch = al::MixedWindowSource::PartFirstBatch(
        static_cast<int>(i), static_cast<int>(families.size()),
        (*trainer)->step());
    source_options.data = config->data;
    source_options.data.env = families[i];
    source_options.registry = registry.get();
    auto part = sl::StoreWindowSource::Create(source_options);
    if (!part.ok()) return Fail(part.status());
    parts.push_back(*std::move(part));
  }
  std::unique_ptr<al::WindowSource> source;
  if (parts.size() == 1) {
    source = std::move(parts[0]);
  } else {
    auto mixed =
        al::MixedWindowSource::Create(std::move(parts), (*trainer)->step());
    if (!mixed.ok()) return Fail(mixed.status());
    source = *std::move(mixed);
    LOG(INFO) << "training on " << families.size()
              << " families, batches interleaved: " << config->data.env;
  }
  al::Prefetcher::Options prefetch_options;
  prefetch_options.capacity = config->data.prefetch_batches;
  prefetch_options.model = config->model;
  prefetch_options.device = *device;
  al::Prefetcher prefetcher(std::move(source), prefetch_options);

  std::atomic<bool> stop{false};
  absl::Status training_status;
  std::thread training([&] {
    al::LoopOptions loop;
    loop.until_step = until_step;
    loop.progress_line = absl::GetFlag(FLAGS_progress);
    loop.stop = &stop;
    loop.warmup_steps = 5;
    loop.on_step = [&](const al::LoopStats& s) { service.OnStep(s); };
    loop.on_checkpoint = [&](int64_t step, const std::string& path) {
      service.OnCheckpoint(step);
      // Resident memory beside every checkpoint: a long run's log is its
      // memory curve.
      LOG(INFO) << "checkpoint " << path << " (resident " << ad::ResidentMb()
                << " MiB, peak " << ad::PeakResidentMb() << " MiB)";
    };
    auto summary = al::RunTraining(**trainer, prefetcher, &*dir, loop);
    if (!summary.ok()) {
      training_status = summary.status();
    } else {
      LOG(INFO) << "training stopped at step " << (*trainer)->step() << ": "
                << summary->tokens_per_second << " tokens/s, sample wait "
                << 100.0 * summary->sample_wait_fraction << "%";
      const std::string export_path = absl::GetFlag(FLAGS_export_torchscript);
      if (!export_path.empty()) {
        training_status =
            al::ExportTorchScript((*trainer)->model(), export_path);
        if (training_status.ok()) LOG(INFO) << "exported " << export_path;
      }
    }
    if (!training_status.ok() || absl::GetFlag(FLAGS_exit_when_done)) {
      (*server)->Shutdown(server_options.grace);
    }
  });
  (*server)->Wait();
  stop = true;
  training.join();
  if (!training_status.ok()) return Fail(training_status);
  LOG(INFO) << "ad-learner: clean shutdown at step " << (*trainer)->step();
  return 0;
}
