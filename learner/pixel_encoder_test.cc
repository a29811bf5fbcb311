#include "learner/pixel_encoder.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/batch.h"
#include "learner/checkpoint.h"
#include "learner/config.h"
#include "learner/export.h"
#include "learner/model.h"
#include "learner/trainer.h"

namespace ad::learner {
namespace {

using ::testing::HasSubstr;

constexpr int kHeight = 12;
constexpr int kWidth = 16;
constexpr int kChannels = 3;
constexpr int kFrame = kHeight * kWidth * kChannels;

// A small pixel model: 12x16x3 frames, 2 blocks of 4 channels.
ModelOptions TinyPixelOptions() {
  ModelOptions o;
  o.obs_encoder = "pixel";
  o.frame_height = kHeight;
  o.frame_width = kWidth;
  o.frame_channels = kChannels;
  o.obs_dim = kFrame;
  o.obs_high.assign(kFrame, 256);
  o.conv_blocks = 2;
  o.conv_channels = 4;
  o.conv_kernel = 3;
  o.encoder_units = 8;
  o.num_actions = 3;
  o.context_len = 6;
  o.embed_dim = 8;
  o.num_layers = 1;
  o.num_heads = 2;
  o.ff_dim = 16;
  return o;
}

// Random frames [B, T, kFrame] as uint8.
torch::Tensor RandomFrames(int64_t b, int64_t t) {
  return torch::randint(0, 256, {b, t, kFrame}, torch::kByte);
}

ModelInput PixelInput(const torch::Tensor& frames) {
  const int64_t b = frames.size(0), t = frames.size(1);
  torch::Tensor actions = torch::arange(b * t).remainder(3).reshape({b, t});
  torch::Tensor rewards = torch::zeros({b, t});
  torch::Tensor dones = torch::zeros({b, t});
  return TransitionsToInput(frames, actions, rewards, dones);
}

std::shared_ptr<PixelObservationEncoder> MakeEncoder(const ModelOptions& o) {
  auto encoder = MakeObservationEncoder(o);
  CHECK(encoder.ok()) << encoder.status();
  auto pixel = std::dynamic_pointer_cast<PixelObservationEncoder>(*encoder);
  CHECK(pixel != nullptr);
  return pixel;
}

TEST(PixelEncoderTest, PaperShapeShrinksToOnePixel) {
  ModelOptions paper;
  paper.obs_encoder = "pixel";
  paper.obs_dim = 72 * 96 * 3;
  paper.obs_high = {256};
  // 72x96 -> conv 36x48 -> pool 18x24 -> 9x12 -> 4x6 -> 2x3 -> 1x1.
  PixelFeatureShape f = PixelFeatures(paper);
  EXPECT_EQ(f.height, 1);
  EXPECT_EQ(f.width, 1);
  ModelOptions four = paper;
  four.conv_blocks = 4;
  EXPECT_EQ(PixelFeatures(four).height, 0);
}

TEST(PixelEncoderTest, DownsampleAveragesBlocksBeforeTheConvs) {
  // Oracle: a frame whose 2x2 pixel blocks are each one colour averages to
  // the half-size frame it was blown up from, so an encoder that
  // downsamples by 2 must give exactly what the same weights give on that
  // half-size frame without downsampling.
  ModelOptions big = TinyPixelOptions();
  big.conv_blocks = 1;
  big.pixel_downsample = 2;
  ModelOptions small = big;
  small.pixel_downsample = 1;
  small.frame_height = kHeight / 2;
  small.frame_width = kWidth / 2;
  small.obs_dim = small.frame_height * small.frame_width * kChannels;
  small.obs_high.assign(small.obs_dim, 256);
  ASSERT_TRUE(big.Validate().ok()) << big.Validate();
  ASSERT_TRUE(small.Validate().ok()) << small.Validate();
  EXPECT_EQ(PixelFeatures(big).height, PixelFeatures(small).height);
  EXPECT_EQ(PixelFeatures(big).width, PixelFeatures(small).width);
  auto down = MakeEncoder(big);
  auto plain = MakeEncoder(small);
  {
    torch::NoGradGuard no_grad;
    auto from = down->named_parameters();
    for (auto& p : plain->named_parameters()) p.value().copy_(from[p.key()]);
  }
  down->eval();
  plain->eval();
  torch::Tensor half =
      torch::randint(0, 256, {2, 3, small.obs_dim}, torch::kByte);
  torch::Tensor full = torch::empty({2, 3, kFrame}, torch::kByte);
  auto h = half.accessor<uint8_t, 3>();
  auto f = full.accessor<uint8_t, 3>();
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 3; ++t) {
      for (int row = 0; row < kHeight; ++row) {
        for (int col = 0; col < kWidth; ++col) {
          for (int ch = 0; ch < kChannels; ++ch) {
            f[b][t][(row * kWidth + col) * kChannels + ch] =
                h[b][t][((row / 2) * (kWidth / 2) + col / 2) * kChannels + ch];
          }
        }
      }
    }
  }
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      torch::allclose(down->Encode(full), plain->Encode(half), 1e-5, 1e-6));
  // The one-pass block average equals LibTorch's average pool of the
  // full-size frames, on frames that are not blockwise constant too.
  torch::Tensor noisy = RandomFrames(2, 3);
  torch::Tensor pooled = torch::avg_pool2d(down->Frames(noisy), 2, 2);
  EXPECT_TRUE(
      torch::allclose(down->DownsampledFrames(noisy), pooled, 1e-6, 1e-6));
  EXPECT_TRUE(down->DownsampledFrames(noisy).equal(
      down->DownsampledFrames(noisy.to(torch::kLong))));
  // And it is not the identity: the full frame without downsampling
  // (a second conv block's worth of pixels) gives another embedding shape.
  ModelOptions none = big;
  none.pixel_downsample = 1;
  EXPECT_NE(PixelFeatures(none).width, PixelFeatures(big).width);
}

TEST(PixelEncoderTest, EncodeShapeForEveryIntegerDtype) {
  auto encoder = MakeEncoder(TinyPixelOptions());
  encoder->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor frames = RandomFrames(3, 5);
  torch::Tensor bytes = encoder->Encode(frames);
  EXPECT_EQ(bytes.sizes(), (std::vector<int64_t>{3, 5, 8}));
  // Evaluators pass int64, the training batch uint8: same embedding.
  EXPECT_TRUE(bytes.equal(encoder->Encode(frames.to(torch::kLong))));
  EXPECT_TRUE(bytes.equal(encoder->Encode(frames.to(torch::kInt))));
}

TEST(PixelEncoderTest, FramesMatchAHandBuiltNchwTensor) {
  auto encoder = MakeEncoder(TinyPixelOptions());
  torch::Tensor obs = RandomFrames(2, 3);
  torch::Tensor frames = encoder->Frames(obs);
  ASSERT_EQ(frames.sizes(),
            (std::vector<int64_t>{6, kChannels, kHeight, kWidth}));
  // Independently: value (row, col, ch) of frame (b, t) is component
  // (row * W + col) * C + ch, scaled to [0, 1].
  auto o = obs.accessor<uint8_t, 3>();
  torch::Tensor expected = torch::empty_like(frames);
  auto e = expected.accessor<float, 4>();
  for (int b = 0; b < 2; ++b) {
    for (int t = 0; t < 3; ++t) {
      for (int row = 0; row < kHeight; ++row) {
        for (int col = 0; col < kWidth; ++col) {
          for (int ch = 0; ch < kChannels; ++ch) {
            e[b * 3 + t][ch][row][col] =
                o[b][t][(row * kWidth + col) * kChannels + ch] / 255.0f;
          }
        }
      }
    }
  }
  EXPECT_TRUE(torch::allclose(frames, expected, 0, 1e-7));
}

TEST(PixelEncoderTest, PermutingPixelsWithinAFrameChangesTheEmbedding) {
  // Fixed weights and frames: with some draws the two swapped pixels both
  // lose every max-pool and ReLU, and the embedding cannot change (1 run in
  // 6 failed when the draws followed whatever ran before).
  torch::manual_seed(7);
  auto encoder = MakeEncoder(TinyPixelOptions());
  encoder->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor frames = RandomFrames(1, 2);
  // Move pixel (0, 0) to (5, 7) and back: same multiset of values, other
  // layout; an encoder that ignored where values are would not notice.
  torch::Tensor moved = frames.clone();
  auto pixel = [](int row, int col) {
    return torch::indexing::Slice((row * kWidth + col) * kChannels,
                                  (row * kWidth + col + 1) * kChannels);
  };
  torch::Tensor a = frames.index({0, 0, pixel(0, 0)}).clone();
  torch::Tensor b = frames.index({0, 0, pixel(5, 7)}).clone();
  ASSERT_FALSE(a.equal(b));
  moved.index_put_({0, 0, pixel(0, 0)}, b);
  moved.index_put_({0, 0, pixel(5, 7)}, a);
  torch::Tensor x = encoder->Encode(frames);
  torch::Tensor y = encoder->Encode(moved);
  EXPECT_FALSE(torch::allclose(x[0][0], y[0][0]));
  EXPECT_TRUE(x[0][1].equal(y[0][1]));  // the other frame is untouched
}

TEST(PixelEncoderTest, GradientsReachTheConvWeights) {
  auto model = CreateModel(TinyPixelOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok()) << model.status();
  ModelInput in = PixelInput(RandomFrames(2, 6));
  torch::Tensor loss = (*model)->Forward(in).logsumexp(-1).sum();
  loss.backward();
  int convs = 0;
  for (const auto& p : (*model)->named_parameters()) {
    if (p.key().find("_conv.weight") == std::string::npos) continue;
    ++convs;
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << p.key();
  }
  EXPECT_EQ(convs, 2);
}

TEST(PixelEncoderTest, KeepsItsOwnInitialisation) {
  auto model = CreateModel(TinyPixelOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok());
  auto params = (*model)->named_parameters();
  // BatchNorm starts at weight 1 (GPT init would draw N(0, 0.02)).
  EXPECT_TRUE(
      params["obs_encoder.block0_norm.weight"].eq(1).all().item<bool>());
  // Kaiming-uniform conv weights: spread well beyond 0.02.
  EXPECT_GT(params["obs_encoder.block0_conv.weight"].std().item<double>(),
            0.05);
}

TEST(PixelEncoderTest, EvalModeUsesRunningStatsAndIsDeterministic) {
  auto model = CreateModel(TinyPixelOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok());
  torch::Tensor frames = RandomFrames(4, 6);
  ModelInput in = PixelInput(frames);
  {
    // Training forwards move the running statistics.
    torch::NoGradGuard no_grad;
    auto buffers = (*model)->named_buffers();
    torch::Tensor before =
        buffers["obs_encoder.block0_norm.running_mean"].clone();
    (*model)->train();
    (*model)->Forward(in);
    EXPECT_FALSE(before.equal(buffers["obs_encoder.block0_norm.running_mean"]));
  }
  (*model)->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor a = (*model)->Forward(in);
  torch::Tensor b = (*model)->Forward(in);
  EXPECT_TRUE(a.equal(b));
  // In eval mode a row does not depend on the other rows of the batch
  // (batch statistics would couple them).
  ModelInput first = PixelInput(frames.slice(0, 0, 1));
  EXPECT_TRUE(torch::allclose((*model)->Forward(first)[0], a[0], 1e-5, 1e-5));
  EXPECT_EQ((*model)->NextActionLogits(in).sizes(),
            (std::vector<int64_t>{4, 3}));
}

LearnerConfig TinyPixelConfig() {
  LearnerConfig config;
  config.model = TinyPixelOptions();
  config.train.batch_size = 2;
  config.train.steps = 10;
  config.train.warmup_steps = 1;
  config.train.lr_peak = 3e-3;
  config.data.env = "watermaze";
  return config;
}

// Windows of random frames whose action is 0/1/2 by the frame's brightest
// third (left, middle, right columns): learnable only from the pixels.
Windows BrightThirdWindows(int batch, int len, uint64_t seed) {
  torch::manual_seed(seed);
  Windows w;
  w.batch_size = batch;
  w.window_len = len;
  w.obs_dim = kFrame;
  const int n = batch * len;
  torch::Tensor frames =
      torch::randint(0, 96, {n, kHeight, kWidth, kChannels}, torch::kInt);
  torch::Tensor bright = torch::randint(0, 3, {n}, torch::kInt);
  const int third = kWidth / 3;
  for (int i = 0; i < n; ++i) {
    const int k = bright[i].item<int>();
    frames[i].slice(1, k * third, (k + 1) * third) += 150;
    w.actions.push_back(k);
  }
  w.obs.assign(frames.data_ptr<int32_t>(),
               frames.data_ptr<int32_t>() + n * kFrame);
  w.rewards.assign(n, 0.0f);
  w.dones.assign(n, 0);
  return w;
}

TEST(PixelEncoderTest, BatchCarriesFramesAsBytes) {
  Windows w = BrightThirdWindows(2, 6, 1);
  auto batch = MakeTrainingBatch(w, TinyPixelOptions(), torch::kCPU);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->input.obs.scalar_type(), torch::kByte);
  EXPECT_EQ(batch->input.obs.sizes(), (std::vector<int64_t>{2, 6, kFrame}));
  EXPECT_EQ(batch->input.obs[1][4][7].item<int>(),
            w.obs[(1 * 6 + 4) * kFrame + 7]);
  w.obs[3] = 256;  // not a byte
  auto bad = MakeTrainingBatch(w, TinyPixelOptions(), torch::kCPU);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("windows.obs"));
}

TEST(PixelEncoderTest, TrainerLearnsFromPixelsWithTheTorchEngine) {
  LearnerConfig config = TinyPixelConfig();
  config.train.engine = "fused";  // does not apply: falls back to torch
  config.train.steps = 150;
  config.model.dropout = 0;
  config.model.attention_dropout = 0;
  config.model.sequence_mask_prob = 0;
  config.model.conv_dropout = 0;
  // Keep where the bright third is: 12x16 -> 6x8 -> 3x4 (no pooling).
  config.model.pool_size = 1;
  auto trainer = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  EXPECT_STREQ((*trainer)->engine(), "torch");
  auto batch =
      MakeTrainingBatch(BrightThirdWindows(8, 6, 2), config.model, torch::kCPU);
  ASSERT_TRUE(batch.ok());
  auto held_out =
      MakeTrainingBatch(BrightThirdWindows(8, 6, 3), config.model, torch::kCPU);
  ASSERT_TRUE(held_out.ok());
  auto before = (*trainer)->Evaluate(*held_out);
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 150; ++i) {
    auto batch_i = MakeTrainingBatch(BrightThirdWindows(8, 6, 100 + i),
                                     config.model, torch::kCPU);
    ASSERT_TRUE(batch_i.ok());
    ASSERT_TRUE((*trainer)->Step(*batch_i).ok());
  }
  auto after = (*trainer)->Evaluate(*held_out);
  ASSERT_TRUE(after.ok());
  // Chance is 1/3 and ln 3 = 1.10; the action is a function of the pixels.
  EXPECT_GT(after->accuracy, 0.9) << "before " << before->accuracy;
  EXPECT_LT(after->loss, 0.5 * before->loss);
}

std::string TempDir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                              (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(PixelEncoderTest, CheckpointRoundTripKeepsRunningStats) {
  LearnerConfig config = TinyPixelConfig();
  config.train.engine = "torch";
  auto trainer = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(trainer.ok());
  for (int i = 0; i < 3; ++i) {
    auto batch = MakeTrainingBatch(BrightThirdWindows(2, 6, 10 + i),
                                   config.model, torch::kCPU);
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*trainer)->Step(*batch).ok());
  }
  auto dir = CheckpointDir::Open({TempDir("pixel-ckpt"), 2});
  ASSERT_TRUE(dir.ok());
  auto path = (*trainer)->Save(*dir);
  ASSERT_TRUE(path.ok()) << path.status();

  auto loaded = LoadCheckpoint(*path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->config == config);
  ADModel original = (*trainer)->model();
  auto want = original->named_buffers();
  auto got = loaded->model->named_buffers();
  const torch::Tensor& mean = want["obs_encoder.block1_norm.running_mean"];
  EXPECT_FALSE(mean.eq(0).all().item<bool>());  // training moved it
  for (const auto& b : want) {
    EXPECT_TRUE(b.value().equal(got[b.key()])) << b.key();
  }
  original->eval();
  loaded->model->eval();
  torch::NoGradGuard no_grad;
  ModelInput in = PixelInput(RandomFrames(2, 6));
  EXPECT_TRUE(original->Forward(in).equal(loaded->model->Forward(in)));
  // The evaluators' path: int64 observations, last position only.
  ModelInput wide = in;
  wide.obs = in.obs.to(torch::kLong);
  EXPECT_TRUE(torch::allclose(loaded->model->NextActionLogits(wide),
                              original->Forward(in).select(1, 5), 1e-5, 1e-5));

  // A resumed trainer gets the running statistics too, not fresh ones.
  auto resumed = Trainer::Create(config, torch::kCPU);
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->Restore(*path).ok());
  auto resumed_buffers = (*resumed)->model()->named_buffers();
  for (const auto& b : want) {
    EXPECT_TRUE(b.value().equal(resumed_buffers[b.key()])) << b.key();
  }
}

TEST(PixelEncoderTest, TorchScriptExportRefusesPixels) {
  auto model = CreateModel(TinyPixelOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok());
  absl::Status s = ExportTorchScript(*model, TempDir("pixel-ts") + "/p.ts");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("obs_encoder"));
}

TEST(PixelEncoderTest, ConfigErrorsNameTheKey) {
  const std::string pixel =
      "model.obs_encoder = pixel\nmodel.obs_dim = 20736\nmodel.obs_high = "
      "256\n";
  auto ok = ParseConfig(pixel, "x.cfg");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->model.obs_high.size(), 20736u);  // one value for all
  EXPECT_THAT(FormatConfig(*ok), HasSubstr("model.obs_high = 256\n"));
  auto again = ParseConfig(FormatConfig(*ok), "formatted");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again == *ok);

  struct Case {
    std::string extra;
    std::string key;
  };
  for (const Case& c : std::vector<Case>{
           {"model.obs_dim = 20735", "model.obs_dim"},
           {"model.obs_high = 257", "model.obs_high"},
           {"model.obs_high = 256, 256", "model.obs_high"},
           {"model.obs_encoder = conv", "model.obs_encoder"},
           {"model.frame_height = 0", "model.frame_height"},
           {"model.frame_channels = 17", "model.frame_channels"},
           {"model.conv_blocks = 4", "model.conv_blocks"},
           {"model.conv_channels = 0", "model.conv_channels"},
           {"model.conv_kernel = 0", "model.conv_kernel"},
           {"model.conv_stride = 9", "model.conv_stride"},
           {"model.pool_size = 0", "model.pool_size"},
           {"model.conv_dropout = 1", "model.conv_dropout"},
           {"model.batchnorm_decay = 1", "model.batchnorm_decay"},
           {"model.batchnorm_eps = 0", "model.batchnorm_eps"},
           {"model.encoder_units = 0", "model.encoder_units"},
           {"model.pixel_downsample = 0", "model.pixel_downsample"},
           {"model.pixel_downsample = 17", "model.pixel_downsample"},
       }) {
    std::string text = pixel;
    // A later assignment of a key would be a duplicate: drop the base one.
    const std::string key_eq = c.key + " = ";
    size_t at = text.find(key_eq);
    if (at != std::string::npos) text.erase(at, text.find('\n', at) + 1 - at);
    auto config = ParseConfig(text + c.extra + "\n", "x.cfg");
    ASSERT_FALSE(config.ok()) << c.extra;
    EXPECT_THAT(config.status().message(), HasSubstr(c.key)) << c.extra;
  }
}

TEST(PixelEncoderTest, WatermazePresetsBuild) {
  for (const char* name : {"cpu-watermaze", "paper-watermaze"}) {
    auto config = BuiltinPreset(name);
    ASSERT_TRUE(config.ok()) << name << ": " << config.status();
    EXPECT_EQ(config->model.obs_encoder, "pixel");
    EXPECT_EQ(config->model.obs_dim, 72 * 96 * 3);
    EXPECT_EQ(config->model.num_actions, 8);
    EXPECT_EQ(config->data.env, "watermaze");
  }
  auto paper = BuiltinPreset("paper-watermaze");
  ASSERT_TRUE(paper.ok());
  // Table 3 as it stands.
  EXPECT_EQ(paper->model.conv_blocks, 3);
  EXPECT_EQ(paper->model.conv_channels, 128);
  EXPECT_EQ(paper->model.conv_kernel, 5);
  EXPECT_EQ(paper->model.conv_stride, 2);
  EXPECT_EQ(paper->model.pool_size, 2);
  EXPECT_DOUBLE_EQ(paper->model.conv_dropout, 0.2);
  EXPECT_DOUBLE_EQ(paper->model.batchnorm_decay, 0.999);
  EXPECT_DOUBLE_EQ(paper->model.batchnorm_eps, 1e-5);
  EXPECT_EQ(paper->model.encoder_units, 256);
  auto cpu = BuiltinPreset("cpu-watermaze");
  ASSERT_TRUE(cpu.ok());
  auto model = CreateModel(cpu->model, torch::kCPU);
  ASSERT_TRUE(model.ok()) << model.status();
}

}  // namespace
}  // namespace ad::learner
