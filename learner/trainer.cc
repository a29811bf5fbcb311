#include "learner/trainer.h"

#include <deque>
#include <mutex>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "learner/lr_schedule.h"
#include "learner/torch_status.h"

namespace ad::learner {
namespace {

torch::Tensor CpuRngState() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetCpuRngState(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

bool SameModel(const LearnerConfig& a, const LearnerConfig& b) {
  LearnerConfig a_with_b_model = a;
  a_with_b_model.model = b.model;
  return a_with_b_model == a;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(
    const LearnerConfig& config, const torch::Device& device) {
  AD_RETURN_IF_ERROR(config.Validate());
  torch::manual_seed(config.train.seed);
  AD_ASSIGN_OR_RETURN(ADModel model, CreateModel(config.model, device));
  return std::unique_ptr<Trainer>(new Trainer(config, device, model));
}

Trainer::Trainer(const LearnerConfig& config, const torch::Device& device,
                 ADModel model)
    : config_(config), device_(device), model_(std::move(model)) {
  const TrainOptions& t = config_.train;
  optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->parameters(), torch::optim::AdamOptions(t.lr_init)
                                .betas({t.adam_beta1, t.adam_beta2})
                                .eps(t.adam_eps)
                                .weight_decay(t.weight_decay));
  if (t.engine == "fused") {
    auto fused = FusedTrainingStep::Create(model_);
    if (fused.ok()) {
      fused_ = *std::move(fused);
    } else {
      LOG(WARNING) << "train.engine = fused does not apply ("
                   << fused.status().message() << "); using LibTorch autograd";
    }
  }
}

absl::Status Trainer::Restore(const std::string& checkpoint_path) {
  AD_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                      LoadCheckpoint(checkpoint_path, device_));
  if (!SameModel(config_, checkpoint.config)) {
    return absl::FailedPreconditionError(absl::StrCat(
        checkpoint_path, ": its model config differs from this learner's:\n",
        FormatConfig(checkpoint.config)));
  }
  AD_RETURN_IF_ERROR(TorchCall(
      [&] {
        torch::NoGradGuard no_grad;
        auto dst = model_->named_parameters();
        for (const auto& src : checkpoint.model->named_parameters()) {
          dst[src.key()].copy_(src.value());
        }
        // Buffers too: the pixel encoder's BatchNorm running statistics.
        auto dst_buffers = model_->named_buffers();
        for (const auto& src : checkpoint.model->named_buffers()) {
          dst_buffers[src.key()].copy_(src.value());
        }
      },
      "restore model"));
  AD_RETURN_IF_ERROR(LoadOptimizerState(checkpoint_path, *optimizer_));
  if (checkpoint.rng_state.defined()) {
    AD_RETURN_IF_ERROR(
        TorchCall([&] { SetCpuRngState(checkpoint.rng_state); }, "rng"));
  }
  step_ = checkpoint.step;
  LOG(INFO) << "resumed from " << checkpoint_path << " at step " << step_;
  return absl::OkStatus();
}

torch::Tensor Trainer::Loss(const torch::Tensor& logits,
                            const torch::Tensor& targets) const {
  const int64_t a = logits.size(-1);
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, a}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(
          config_.train.label_smoothing));
}

absl::StatusOr<StepStats> Trainer::Step(const TrainingBatch& batch) {
  absl::StatusOr<StepStats> stats = TorchCall(
      [&] {
        StepStats fresh;
        fresh.learning_rate = LearningRate(config_.train, step_);
        for (auto& group : optimizer_->param_groups()) {
          static_cast<torch::optim::AdamOptions&>(group.options())
              .lr(fresh.learning_rate);
        }
        return fresh;
      },
      "train step");
  if (!stats.ok()) return stats.status();
  AD_RETURN_IF_ERROR(ComputeGradients(batch, *stats));
  return TorchCall(
      [&] {
        if (config_.train.grad_clip_norm > 0) {
          stats->grad_norm = torch::nn::utils::clip_grad_norm_(
              model_->parameters(), config_.train.grad_clip_norm);
        }
        optimizer_->step();
        ++step_;
        stats->step = step_;
        stats->tokens = batch.tokens;
        return *stats;
      },
      "train step");
}

absl::Status Trainer::ComputeGradients(const TrainingBatch& batch,
                                       StepStats& stats) {
  if (fused_ != nullptr) {
    AD_ASSIGN_OR_RETURN(
        FusedStepResult result,
        fused_->ForwardBackward(batch.input, batch.targets,
                                config_.train.label_smoothing, DrawStepSeed()));
    stats.loss = result.loss;
    stats.accuracy = result.accuracy;
    return absl::OkStatus();
  }
  return TorchCall(
      [&] {
        model_->train();
        // Dropping the gradients (rather than zeroing them) lets backward
        // write them fresh instead of accumulating into zeros.
        for (torch::Tensor& p : model_->parameters()) {
          p.mutable_grad() = torch::Tensor();
        }
        torch::Tensor logits = model_->Forward(batch.input);
        torch::Tensor loss = Loss(logits, batch.targets);
        loss.backward();
        torch::NoGradGuard no_grad;
        stats.loss = loss.item<double>();
        stats.accuracy = logits.argmax(-1)
                             .eq(batch.targets)
                             .to(torch::kFloat)
                             .mean()
                             .item<double>();
      },
      "train step");
}

absl::StatusOr<StepStats> Trainer::Evaluate(const TrainingBatch& batch) {
  return TorchCall(
      [&] {
        torch::NoGradGuard no_grad;
        model_->eval();
        torch::Tensor logits = model_->Forward(batch.input);
        StepStats stats;
        stats.step = step_;
        stats.loss = Loss(logits, batch.targets).item<double>();
        stats.accuracy = logits.argmax(-1)
                             .eq(batch.targets)
                             .to(torch::kFloat)
                             .mean()
                             .item<double>();
        stats.tokens = batch.tokens;
        stats.learning_rate = LearningRate(config_.train, step_);
        model_->train();
        return stats;
      },
      "evaluate");
}

absl::StatusOr<std::string> Trainer::Save(CheckpointDir& dir) {
  CheckpointContents contents;
  contents.config = &config_;
  contents.model = model_;
  contents.optimizer = optimizer_.get();
  contents.step = step_;
  AD_ASSIGN_OR_RETURN(contents.rng_state,
                      TorchCall([] { return CpuRngState(); }, "rng"));
  return dir.Save(contents);
}

absl::Status LoopOptions::Validate() const {
  if (until_step < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("until_step = ", until_step, ": must be >= 0"));
  }
  if (stats_window < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("stats_window = ", stats_window, ": must be >= 1"));
  }
  if (batch_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("batch_timeout: must be > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<LoopSummary> RunTraining(Trainer& trainer,
                                        Prefetcher& prefetcher,
                                        CheckpointDir* checkpoints,
                                        const LoopOptions& options) {
  AD_RETURN_IF_ERROR(options.Validate());
  const int64_t every = trainer.config().train.checkpoint_every;
  LoopSummary summary;
  int64_t last_saved = -1;
  auto save = [&]() -> absl::Status {
    if (checkpoints == nullptr || last_saved == trainer.step()) {
      return absl::OkStatus();
    }
    AD_ASSIGN_OR_RETURN(summary.last_checkpoint, trainer.Save(*checkpoints));
    last_saved = trainer.step();
    if (options.on_checkpoint) {
      options.on_checkpoint(trainer.step(), summary.last_checkpoint);
    }
    return absl::OkStatus();
  };
  auto stopped = [&] {
    return options.stop != nullptr && options.stop->load();
  };

  Progress progress("learner", "steps", options.until_step);
  struct Sample {
    double wait;
    double total;
    int64_t tokens;
  };
  std::deque<Sample> window;
  double window_wait = 0, window_total = 0;
  int64_t window_tokens = 0;
  absl::Duration idle = absl::ZeroDuration();  // waiting without a batch
  int64_t steps_counted = 0;

  while (trainer.step() < options.until_step && !stopped()) {
    const absl::Time start = absl::Now();
    // Wait in short slices so that `stop` is honoured while data is late.
    absl::StatusOr<TrainingBatch> batch =
        prefetcher.Next(start + absl::Seconds(1));
    if (absl::IsDeadlineExceeded(batch.status())) {
      idle += absl::Now() - start;
      if (idle >= options.batch_timeout) {
        return absl::DeadlineExceededError(
            absl::StrCat("no training batch for ", absl::FormatDuration(idle)));
      }
      continue;
    }
    if (!batch.ok()) return batch.status();
    const absl::Time got = absl::Now();
    const double wait = absl::ToDoubleSeconds(got - start + idle);
    idle = absl::ZeroDuration();

    AD_ASSIGN_OR_RETURN(StepStats stats, trainer.Step(*batch));
    const double total = absl::ToDoubleSeconds(absl::Now() - got) + wait;

    window.push_back({wait, total, stats.tokens});
    window_wait += wait;
    window_total += total;
    window_tokens += stats.tokens;
    if (static_cast<int>(window.size()) > options.stats_window) {
      window_wait -= window.front().wait;
      window_total -= window.front().total;
      window_tokens -= window.front().tokens;
      window.pop_front();
    }
    ++summary.steps_run;
    if (++steps_counted > options.warmup_steps) {
      summary.seconds += total;
      summary.wait_seconds += wait;
      summary.tokens += stats.tokens;
    }
    summary.last = stats;

    LoopStats loop;
    loop.step = stats;
    loop.total_steps = options.until_step;
    loop.step_seconds = total;
    loop.tokens_per_second =
        window_total > 0 ? window_tokens / window_total : 0;
    loop.sample_wait_fraction =
        window_total > 0 ? window_wait / window_total : 0;
    if (options.on_step) options.on_step(loop);
    if (options.progress_line) {
      progress.Update(
          static_cast<uint64_t>(stats.step),
          absl::StrFormat("loss %.4f acc %.3f lr %.2e tok/s %.0f wait %.1f%%",
                          stats.loss, stats.accuracy, stats.learning_rate,
                          loop.tokens_per_second,
                          100.0 * loop.sample_wait_fraction));
    }
    if (every > 0 && trainer.step() % every == 0) AD_RETURN_IF_ERROR(save());
  }
  AD_RETURN_IF_ERROR(save());
  if (summary.seconds > 0) {
    summary.tokens_per_second = summary.tokens / summary.seconds;
    summary.sample_wait_fraction = summary.wait_seconds / summary.seconds;
  }
  if (options.progress_line) {
    progress.Finish(absl::StrFormat("loss %.4f acc %.3f tok/s %.0f wait %.1f%%",
                                    summary.last.loss, summary.last.accuracy,
                                    summary.tokens_per_second,
                                    100.0 * summary.sample_wait_fraction));
  }
  return summary;
}

}  // namespace ad::learner
