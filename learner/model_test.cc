#include "learner/model.h"

#include "gtest/gtest.h"
#include "learner/config.h"

namespace ad::learner {
namespace {

ModelOptions TinyOptions() {
  ModelOptions o;
  o.context_len = 12;
  o.embed_dim = 16;
  o.num_layers = 2;
  o.num_heads = 2;
  o.ff_dim = 32;
  o.dropout = 0.1;
  o.attention_dropout = 0.2;
  o.sequence_mask_prob = 0.3;
  return o;
}

// A TinyOptions model with `post_norm`, in eval mode.
absl::StatusOr<ADModel> TinyEvalModel(bool post_norm) {
  ModelOptions o = TinyOptions();
  o.post_norm = post_norm;
  absl::StatusOr<ADModel> model = CreateModel(o, torch::kCPU);
  if (model.ok()) (*model)->eval();
  return model;
}

// Deterministic transitions [B, T] for tests.
ModelInput SomeInput(int64_t b, int64_t t) {
  torch::Tensor obs =
      torch::arange(b * t * 2, torch::kLong).remainder(9).reshape({b, t, 2});
  torch::Tensor actions =
      torch::arange(b * t, torch::kLong).remainder(5).reshape({b, t});
  torch::Tensor rewards =
      torch::arange(b * t).remainder(3).eq(0).to(torch::kFloat).reshape({b, t});
  torch::Tensor dones =
      torch::arange(b * t).remainder(4).eq(3).to(torch::kFloat).reshape({b, t});
  return TransitionsToInput(obs, actions, rewards, dones);
}

TEST(ModelTest, TransitionsToInputShiftsByOne) {
  torch::Tensor obs = torch::zeros({1, 3, 2}, torch::kInt);
  torch::Tensor actions = torch::tensor({{2, 3, 4}}, torch::kInt);
  torch::Tensor rewards = torch::tensor({{0.f, 1.f, 0.5f}});
  torch::Tensor dones = torch::tensor({{0, 1, 0}}, torch::kUInt8);
  ModelInput in = TransitionsToInput(obs, actions, rewards, dones);
  EXPECT_TRUE(in.prev_actions.equal(torch::tensor({{-1, 2, 3}}, torch::kLong)));
  EXPECT_TRUE(in.prev_rewards.equal(torch::tensor({{0.f, 0.f, 1.f}})));
  EXPECT_TRUE(in.prev_dones.equal(torch::tensor({{0.f, 0.f, 1.f}})));
}

TEST(ModelTest, ForwardShapes) {
  auto model = CreateModel(TinyOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok()) << model.status();
  torch::Tensor logits = (*model)->Forward(SomeInput(3, 12));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 12, 5}));
  logits = (*model)->Forward(SomeInput(2, 5));  // shorter than the context
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 5, 5}));
}

TEST(ModelTest, IsCausal) {
  for (bool post_norm : {true, false}) {
    auto model = TinyEvalModel(post_norm);
    ASSERT_TRUE(model.ok());
    torch::NoGradGuard no_grad;
    ModelInput a = SomeInput(2, 10);
    ModelInput b = a;
    b.obs = a.obs.clone();
    b.obs.index_put_({torch::indexing::Slice(), 7}, 0);  // change t = 7 only
    b.prev_actions = a.prev_actions.clone();
    b.prev_actions.index_put_({torch::indexing::Slice(), 8}, 4);
    torch::Tensor la = (*model)->Forward(a);
    torch::Tensor lb = (*model)->Forward(b);
    EXPECT_TRUE(torch::allclose(la.slice(1, 0, 7), lb.slice(1, 0, 7)));
    EXPECT_FALSE(torch::allclose(la.slice(1, 7), lb.slice(1, 7)));
  }
}

TEST(ModelTest, NextActionLogitsMatchLastPosition) {
  for (bool post_norm : {true, false}) {
    auto model = TinyEvalModel(post_norm);
    ASSERT_TRUE(model.ok());
    torch::NoGradGuard no_grad;
    ModelInput in = SomeInput(4, 9);
    torch::Tensor full = (*model)->Forward(in).select(1, 8);
    torch::Tensor next = (*model)->NextActionLogits(in);
    EXPECT_EQ(next.sizes(), (std::vector<int64_t>{4, 5}));
    EXPECT_TRUE(torch::allclose(full, next, 1e-5, 1e-5));
  }
}

TEST(ModelTest, RegularisersOnlyInTrainingMode) {
  auto model = CreateModel(TinyOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok());
  torch::NoGradGuard no_grad;
  ModelInput in = SomeInput(2, 12);
  (*model)->eval();
  EXPECT_TRUE((*model)->Forward(in).equal((*model)->Forward(in)));
  (*model)->train();
  EXPECT_FALSE((*model)->Forward(in).equal((*model)->Forward(in)));
}

TEST(ModelTest, TooLongWindowIsAnErrorNotACrash) {
  auto model = CreateModel(TinyOptions(), torch::kCPU);
  ASSERT_TRUE(model.ok());
  EXPECT_THROW((*model)->Forward(SomeInput(1, 13)), c10::Error);
}

TEST(ModelTest, PaperPresetSize) {
  auto config = BuiltinPreset("paper");
  ASSERT_TRUE(config.ok());
  auto model = CreateModel(config->model, torch::kCPU);
  ASSERT_TRUE(model.ok());
  // 4 blocks x (qkv 12480 + proj 4160 + mlp 264256 + norms 256) + embeddings.
  EXPECT_GT((*model)->NumParameters(), 1'000'000);
  EXPECT_LT((*model)->NumParameters(), 1'200'000);
}

TEST(ModelTest, PixelEncoderNeedsFrameSizedObservations) {
  // The encoder itself is tested in pixel_encoder_test.cc.
  ModelOptions o = TinyOptions();
  o.obs_encoder = "pixel";  // obs_dim 2 is no 72x96x3 frame
  auto encoder = MakeObservationEncoder(o);
  ASSERT_FALSE(encoder.ok());
  EXPECT_NE(encoder.status().message().find("model.obs_dim"),
            std::string::npos);
  EXPECT_FALSE(CreateModel(o, torch::kCPU).ok());
}

}  // namespace
}  // namespace ad::learner
