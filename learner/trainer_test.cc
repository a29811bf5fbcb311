#include "learner/trainer.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "learner/device.h"
#include "learner/in_process_source.h"
#include "learner/lr_schedule.h"
#include "learner/synthetic_darkroom.h"

namespace ad::learner {
namespace {

namespace fs = std::filesystem;

LearnerConfig TestConfig() {
  auto config = BuiltinPreset("test");
  CHECK(config.ok()) << config.status();
  return *config;
}

std::vector<History> SomeHistories(int goals) {
  std::vector<DarkRoomGoal> train, test;
  DarkRoomGoalSplit(/*test_every=*/4, /*test_offset=*/0, train, test);
  train.resize(goals);
  SyntheticDarkRoomOptions o;
  o.goals = train;
  o.episodes = 30;
  return SyntheticDarkRoomHistories(o);
}

std::unique_ptr<Prefetcher> MakePrefetcher(const LearnerConfig& config,
                                           std::vector<History> histories,
                                           int64_t first_batch,
                                           int batch_size) {
  WindowRequest request;
  request.window_len = config.model.context_len;
  request.batch_size = batch_size;
  request.seed = config.train.seed;
  request.first_batch = first_batch;
  auto source = InProcessWindowSource::Create(std::move(histories), request);
  CHECK(source.ok()) << source.status();
  Prefetcher::Options options;
  options.model = config.model;
  return std::make_unique<Prefetcher>(*std::move(source), options);
}

TEST(LrScheduleTest, WarmsUpThenDecaysToFinal) {
  TrainOptions t;
  t.lr_init = 2e-6;
  t.lr_peak = 3e-4;
  t.lr_final = 1e-6;
  t.warmup_steps = 100;
  t.steps = 1100;
  EXPECT_DOUBLE_EQ(LearningRate(t, 0), 2e-6);
  EXPECT_NEAR(LearningRate(t, 50), (2e-6 + 3e-4) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(LearningRate(t, 100), 3e-4);
  EXPECT_NEAR(LearningRate(t, 600), (3e-4 + 1e-6) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(LearningRate(t, 1100), 1e-6);
  EXPECT_DOUBLE_EQ(LearningRate(t, 5000), 1e-6);
}

// The model memorises a tiny fixed dataset: one batch of 8 windows of 16
// transitions, seen again and again.
TEST(TrainerTest, OverfitsATinyFixedDataset) {
  ASSERT_TRUE(ConfigureThreads(1).ok());
  LearnerConfig config = TestConfig();
  auto trainer = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  WindowRequest request{config.model.context_len, /*batch_size=*/8,
                        /*seed=*/5};
  auto source = InProcessWindowSource::Create(SomeHistories(8), request);
  ASSERT_TRUE(source.ok());
  auto windows = (*source)->Next(absl::InfiniteFuture());
  ASSERT_TRUE(windows.ok());
  auto batch = MakeTrainingBatch(*windows, config.model, torch::kCPU);
  ASSERT_TRUE(batch.ok()) << batch.status();

  StepStats stats;
  for (int i = 0; i < config.train.steps; ++i) {
    auto step = (*trainer)->Step(*batch);
    ASSERT_TRUE(step.ok()) << step.status();
    stats = *step;
  }
  auto eval = (*trainer)->Evaluate(*batch);
  ASSERT_TRUE(eval.ok());
  LOG(INFO) << "overfit: train loss " << stats.loss << " eval accuracy "
            << eval->accuracy;
  EXPECT_GE(eval->accuracy, 0.99);
  EXPECT_LT(eval->loss, 0.1);
}

// Train 2N steps straight, or N steps, drop everything ("kill"), restore
// from the checkpoint and train N more: the same losses and weights.
TEST(TrainerTest, ResumeMatchesAnUninterruptedRun) {
  ASSERT_TRUE(ConfigureThreads(1).ok());
  LearnerConfig config = TestConfig();
  // Exercise every random regulariser, so the RNG state must carry over.
  config.model.dropout = 0.1;
  config.model.attention_dropout = 0.2;
  config.model.sequence_mask_prob = 0.3;
  constexpr int64_t kN = 20;
  config.train.checkpoint_every = kN;
  std::vector<History> histories = SomeHistories(6);
  const std::string root = (fs::path(::testing::TempDir()) /
                            ("resume-" + std::to_string(::getpid())))
                               .string();
  fs::remove_all(root);

  LoopOptions loop;
  loop.progress_line = false;
  loop.batch_timeout = absl::Seconds(30);
  std::vector<double> straight_losses, resumed_losses;

  torch::Tensor straight_weights;
  {
    auto trainer = Trainer::Create(config, torch::kCPU);
    ASSERT_TRUE(trainer.ok());
    auto prefetcher = MakePrefetcher(config, histories, 0, 4);
    loop.until_step = 2 * kN;
    loop.on_step = [&](const LoopStats& s) {
      straight_losses.push_back(s.step.loss);
    };
    auto summary = RunTraining(**trainer, *prefetcher, nullptr, loop);
    ASSERT_TRUE(summary.ok()) << summary.status();
    straight_weights = (*trainer)->model()->head->weight.clone();
  }

  auto dir = CheckpointDir::Open({root, /*keep=*/2});
  ASSERT_TRUE(dir.ok());
  {
    auto trainer = Trainer::Create(config, torch::kCPU);
    ASSERT_TRUE(trainer.ok());
    auto prefetcher = MakePrefetcher(config, histories, 0, 4);
    loop.until_step = kN;
    loop.on_step = [&](const LoopStats& s) {
      resumed_losses.push_back(s.step.loss);
    };
    ASSERT_TRUE(RunTraining(**trainer, *prefetcher, &*dir, loop).ok());
    // Burn some randomness, as a dying process might have.
    torch::rand({1000});
  }
  {
    auto trainer = Trainer::Create(config, torch::kCPU);
    ASSERT_TRUE(trainer.ok());
    torch::rand({77});
    auto latest = dir->Latest();
    ASSERT_TRUE(latest.ok() && latest->has_value());
    EXPECT_EQ((*latest)->step, kN);
    ASSERT_TRUE((*trainer)->Restore((*latest)->path).ok());
    EXPECT_EQ((*trainer)->step(), kN);
    auto prefetcher = MakePrefetcher(config, histories, (*trainer)->step(), 4);
    loop.until_step = 2 * kN;
    ASSERT_TRUE(RunTraining(**trainer, *prefetcher, &*dir, loop).ok());
    ASSERT_EQ(resumed_losses.size(), straight_losses.size());
    for (size_t i = 0; i < straight_losses.size(); ++i) {
      EXPECT_NEAR(resumed_losses[i], straight_losses[i],
                  1e-5 * (1 + std::abs(straight_losses[i])))
          << "step " << i + 1;
    }
    EXPECT_TRUE(torch::allclose((*trainer)->model()->head->weight,
                                straight_weights, 1e-5, 1e-6));
  }
  auto files = dir->List();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ(files->back().step, 2 * kN);
}

TEST(TrainerTest, RestoreRejectsADifferentModel) {
  LearnerConfig config = TestConfig();
  auto trainer = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(trainer.ok());
  const std::string root = (fs::path(::testing::TempDir()) /
                            ("restore-other-" + std::to_string(::getpid())))
                               .string();
  auto dir = CheckpointDir::Open({root, 1});
  ASSERT_TRUE(dir.ok());
  auto path = (*trainer)->Save(*dir);
  ASSERT_TRUE(path.ok());
  config.model.embed_dim = 16;
  auto other = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->Restore(*path).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(TrainerTest, LoopReportsRatesAndStopsOnRequest) {
  LearnerConfig config = TestConfig();
  auto trainer = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(trainer.ok());
  auto prefetcher = MakePrefetcher(config, SomeHistories(2), 0, 4);
  std::atomic<bool> stop{false};
  LoopOptions loop;
  loop.until_step = 1000;
  loop.progress_line = false;
  loop.stop = &stop;
  int seen = 0;
  loop.on_step = [&](const LoopStats& s) {
    EXPECT_GT(s.tokens_per_second, 0);
    EXPECT_GE(s.sample_wait_fraction, 0);
    EXPECT_LE(s.sample_wait_fraction, 1);
    if (++seen == 5) stop = true;
  };
  auto summary = RunTraining(**trainer, *prefetcher, nullptr, loop);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->steps_run, 5);
  EXPECT_EQ((*trainer)->step(), 5);
  EXPECT_GT(summary->tokens_per_second, 0);
}

}  // namespace
}  // namespace ad::learner
