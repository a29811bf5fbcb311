#include "learner/fused_step.h"

#include <cmath>
#include <string>
#include <vector>

#include "glog/logging.h"
#include "gtest/gtest.h"
#include "learner/device.h"
#include "learner/trainer.h"

namespace ad::learner {
namespace {

ModelOptions SmallOptions(bool post_norm) {
  ModelOptions o;
  o.obs_dim = 2;
  o.obs_high = {9, 7};
  o.num_actions = 5;
  o.context_len = 12;
  o.embed_dim = 32;
  o.num_layers = 2;
  o.num_heads = 4;
  o.ff_dim = 48;
  o.post_norm = post_norm;
  o.dropout = 0;
  o.attention_dropout = 0;
  o.sequence_mask_prob = 0;
  return o;
}

ADModel RandomModel(const ModelOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  ADModel model(options);
  // Not the initialisation: LayerNorm weights away from 1, non-zero biases
  // and embeddings large enough that every path matters.
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : model->parameters()) {
    p.copy_(torch::randn_like(p) * 0.3 +
            (p.dim() == 1 ? torch::ones_like(p) * 0.2 : torch::zeros_like(p)));
  }
  return model;
}

struct Example {
  ModelInput input;
  torch::Tensor targets;
};

Example RandomExample(const ModelOptions& o, int64_t b, int64_t t,
                      uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> components;
  for (int32_t high : o.obs_high) {
    components.push_back(torch::randint(high, {b, t, 1}, torch::kLong));
  }
  torch::Tensor actions = torch::randint(o.num_actions, {b, t}, torch::kLong);
  torch::Tensor rewards = torch::randn({b, t});
  torch::Tensor dones = torch::rand({b, t}).lt(0.3).to(torch::kFloat);
  Example e;
  e.input =
      TransitionsToInput(torch::cat(components, 2), actions, rewards, dones);
  e.targets = torch::randint(o.num_actions, {b, t}, torch::kLong);
  return e;
}

// Loss and gradients by LibTorch autograd, the reference.
struct Reference {
  double loss = 0;
  torch::Tensor logits;
  std::vector<torch::Tensor> grads;  // undefined where autograd gives none
};

Reference TorchReference(ADModel& model, const Example& e, double smoothing) {
  model->train();
  for (torch::Tensor& p : model->parameters())
    p.mutable_grad() = torch::Tensor();
  torch::Tensor logits = model->Forward(e.input);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), e.targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(
          smoothing));
  loss.backward();
  Reference r;
  r.loss = loss.item<double>();
  r.logits = logits.detach().clone();
  for (torch::Tensor& p : model->parameters()) {
    r.grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    p.mutable_grad() = torch::Tensor();
  }
  return r;
}

// The largest |fused - torch| over a parameter's gradient, relative to the
// largest |torch| entry of that gradient (or 1e-3, whichever is larger).
double WorstRelativeGradError(ADModel& model, const Reference& ref,
                              std::string* worst_name) {
  double worst = 0;
  auto named = model->named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    const torch::Tensor& g = named[i].value().grad();
    const torch::Tensor& want = ref.grads[i];
    if (g.defined() != want.defined()) return INFINITY;
    if (!want.defined()) continue;
    const double scale = std::max(want.abs().max().item<double>(), 1e-3);
    const double err = (g - want).abs().max().item<double>() / scale;
    if (err > worst) {
      worst = err;
      *worst_name = named[i].key();
    }
  }
  return worst;
}

TEST(FusedStepTest, MatchesAutogradWithoutRegularisers) {
  ASSERT_TRUE(ConfigureThreads(2).ok());
  struct Case {
    bool post_norm;
    double smoothing;
    int64_t b, t;
  };
  const std::vector<Case> cases = {
      {true, 0.0, 1, 12},  {true, 0.1, 5, 7},   {true, 0.0, 3, 1},
      {false, 0.0, 1, 12}, {false, 0.1, 4, 12}, {false, 0.1, 6, 5},
  };
  uint64_t seed = 11;
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "post_norm " << c.post_norm << " smoothing " << c.smoothing
                 << " B " << c.b << " T " << c.t);
    const ModelOptions o = SmallOptions(c.post_norm);
    ADModel model = RandomModel(o, ++seed);
    const Example e = RandomExample(o, c.b, c.t, ++seed);
    const Reference ref = TorchReference(model, e, c.smoothing);

    auto fused = FusedTrainingStep::Create(model);
    ASSERT_TRUE(fused.ok()) << fused.status();
    // Twice: the second call reuses the workspaces and overwrites grads.
    for (int round = 0; round < 2; ++round) {
      auto result = (*fused)->ForwardBackward(e.input, e.targets, c.smoothing,
                                              /*seed=*/round);
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_NEAR(result->loss, ref.loss, 1e-5 * (1 + ref.loss));
      EXPECT_EQ(result->tokens, c.b * c.t);
      EXPECT_EQ(result->masked, 0);
      const double logit_scale = ref.logits.abs().max().item<double>();
      EXPECT_LE(((*fused)->logits() - ref.logits).abs().max().item<double>(),
                1e-5 * logit_scale);
      const double want_accuracy = ref.logits.argmax(-1)
                                       .eq(e.targets)
                                       .to(torch::kDouble)
                                       .mean()
                                       .item<double>();
      EXPECT_DOUBLE_EQ(result->accuracy, want_accuracy);
      std::string worst_name;
      const double worst = WorstRelativeGradError(model, ref, &worst_name);
      LOG_IF(INFO, round == 0) << "worst relative gradient error " << worst
                               << " (" << worst_name << ")";
      EXPECT_LE(worst, 1e-5) << "worst gradient: " << worst_name;
    }
    // mask_embed is outside the graph without a sequence mask.
    EXPECT_FALSE(model->mask_embed.grad().defined());
  }
}

// The comparison above can fail: a model whose parameters moved after the
// reference was taken is caught.
TEST(FusedStepTest, ComparisonDetectsAChangedParameter) {
  const ModelOptions o = SmallOptions(/*post_norm=*/true);
  ADModel model = RandomModel(o, 3);
  const Example e = RandomExample(o, 2, 6, 4);
  const Reference ref = TorchReference(model, e, 0.0);
  {
    torch::NoGradGuard no_grad;
    model->blocks[1]->as<TransformerBlock>()->fc1->weight[3][5].add_(0.05);
  }
  auto fused = FusedTrainingStep::Create(model);
  ASSERT_TRUE(fused.ok());
  ASSERT_TRUE((*fused)->ForwardBackward(e.input, e.targets, 0.0, 0).ok());
  std::string worst_name;
  EXPECT_GT(WorstRelativeGradError(model, ref, &worst_name), 1e-4);
}

TEST(FusedStepTest, RejectsBadInput) {
  const ModelOptions o = SmallOptions(/*post_norm=*/true);
  ADModel model = RandomModel(o, 3);
  auto fused = FusedTrainingStep::Create(model);
  ASSERT_TRUE(fused.ok());
  Example too_long = RandomExample(o, 2, o.context_len + 1, 1);
  EXPECT_EQ((*fused)
                ->ForwardBackward(too_long.input, too_long.targets, 0, 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  Example bad_obs = RandomExample(o, 2, 4, 1);
  bad_obs.input.obs[1][2][1] = o.obs_high[1];
  EXPECT_EQ((*fused)
                ->ForwardBackward(bad_obs.input, bad_obs.targets, 0, 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  Example bad_target = RandomExample(o, 2, 4, 1);
  bad_target.targets[0][0] = o.num_actions;
  EXPECT_EQ((*fused)
                ->ForwardBackward(bad_target.input, bad_target.targets, 0, 0)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FusedStepTest, DropoutKeepsTheExpectedFraction) {
  constexpr int64_t kN = 1 << 20;
  std::vector<float> a(kN), b(kN);
  for (double p : {0.1, 0.5}) {
    FusedDropoutScales(/*key=*/7, p, /*first=*/0, kN, a.data());
    FusedDropoutScales(/*key=*/8, p, /*first=*/0, kN, b.data());
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    int64_t kept = 0, both = 0, kept_after_kept = 0;
    for (int64_t i = 0; i < kN; ++i) {
      ASSERT_TRUE(a[i] == 0.0f || a[i] == scale) << a[i];
      kept += a[i] != 0;
      both += (a[i] != 0) == (b[i] != 0);
      if (i > 0 && a[i - 1] != 0) kept_after_kept += a[i] != 0;
    }
    const double q = 1 - p;
    // Binomial standard deviation is at most 0.0005 here; allow ~6 sigma.
    EXPECT_NEAR(static_cast<double>(kept) / kN, q, 0.003) << "p " << p;
    // Another key draws independently: agreement q^2 + p^2.
    EXPECT_NEAR(static_cast<double>(both) / kN, q * q + p * p, 0.003);
    // Neighbouring elements are independent.
    EXPECT_NEAR(static_cast<double>(kept_after_kept) / kept, q, 0.005);
  }
  // An offset window sees the same decisions: forward and backward agree.
  std::vector<float> window(100);
  FusedDropoutScales(7, 0.5, /*first=*/1000, 100, window.data());
  FusedDropoutScales(7, 0.5, 0, kN, a.data());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(window[i], a[1000 + i]);
}

TEST(FusedStepTest, SequenceMaskReplacesTheExpectedShareOfTokens) {
  ModelOptions o = SmallOptions(/*post_norm=*/true);
  o.sequence_mask_prob = 0.3;
  ADModel model = RandomModel(o, 5);
  auto fused = FusedTrainingStep::Create(model);
  ASSERT_TRUE(fused.ok());
  const Example e = RandomExample(o, 64, 12, 6);
  int64_t masked = 0, tokens = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    auto result = (*fused)->ForwardBackward(e.input, e.targets, 0, seed);
    ASSERT_TRUE(result.ok());
    masked += result->masked;
    tokens += result->tokens;
  }
  // 3840 tokens: the standard deviation of the share is 0.0074.
  EXPECT_NEAR(static_cast<double>(masked) / tokens, 0.3, 0.03);
  EXPECT_TRUE(model->mask_embed.grad().defined());
  EXPECT_GT(model->mask_embed.grad().abs().max().item<double>(), 0);
}

TEST(FusedStepTest, FullyMaskedTokensGiveNoGradientToTheirEmbeddings) {
  ModelOptions o = SmallOptions(/*post_norm=*/false);
  o.sequence_mask_prob = 0.9999;
  ADModel model = RandomModel(o, 5);
  auto fused = FusedTrainingStep::Create(model);
  ASSERT_TRUE(fused.ok());
  const Example e = RandomExample(o, 2, 8, 6);
  auto result = (*fused)->ForwardBackward(e.input, e.targets, 0, 1);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->masked, 16);
  EXPECT_EQ(model->action_embed->weight.grad().abs().max().item<float>(), 0);
  EXPECT_EQ(model->reward_proj->weight.grad().abs().max().item<float>(), 0);
  EXPECT_EQ(model->boundary_embed.grad().abs().max().item<float>(), 0);
  EXPECT_GT(model->mask_embed.grad().abs().max().item<float>(), 0);
  EXPECT_GT(model->pos_embed->weight.grad().abs().max().item<float>(), 0);
}

// With every regulariser on, the loss is a deterministic function of the
// parameters for a fixed seed, so the gradient must match finite
// differences of that loss: the backward pass applies the same dropout
// masks as the forward pass.
TEST(FusedStepTest, RegularisedGradientMatchesFiniteDifferences) {
  for (bool post_norm : {true, false}) {
    SCOPED_TRACE(post_norm ? "post-norm" : "pre-norm");
    ModelOptions o = SmallOptions(post_norm);
    o.dropout = 0.2;
    o.attention_dropout = 0.3;
    o.sequence_mask_prob = 0.25;
    ADModel model = RandomModel(o, 21);
    auto fused = FusedTrainingStep::Create(model);
    ASSERT_TRUE(fused.ok());
    const Example e = RandomExample(o, 3, 10, 22);
    constexpr uint64_t kSeed = 99;
    auto base = (*fused)->ForwardBackward(e.input, e.targets, 0.1, kSeed);
    ASSERT_TRUE(base.ok());
    EXPECT_GT(base->masked, 0);
    // Same seed: the same loss; another seed: other masks.
    auto again = (*fused)->ForwardBackward(e.input, e.targets, 0.1, kSeed);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->loss, base->loss);
    auto other = (*fused)->ForwardBackward(e.input, e.targets, 0.1, kSeed + 1);
    ASSERT_TRUE(other.ok());
    EXPECT_NE(other->loss, base->loss);

    ASSERT_TRUE((*fused)->ForwardBackward(e.input, e.targets, 0.1, kSeed).ok());
    std::vector<torch::Tensor> params = model->parameters();
    std::vector<torch::Tensor> grads, directions;
    torch::manual_seed(23);
    double analytic = 0;
    for (const torch::Tensor& p : params) {
      directions.push_back(torch::randn_like(p));
      analytic += (p.grad() * directions.back()).sum().item<double>();
    }
    auto loss_at = [&](double h) {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) {
        params[i].add_(directions[i], h);
      }
      auto r = (*fused)->ForwardBackward(e.input, e.targets, 0.1, kSeed);
      for (size_t i = 0; i < params.size(); ++i) {
        params[i].sub_(directions[i], h);
      }
      EXPECT_TRUE(r.ok());
      return r.ok() ? r->loss : 0.0;
    };
    constexpr double kH = 1e-3;
    const double numeric = (loss_at(kH) - loss_at(-kH)) / (2 * kH);
    LOG(INFO) << "directional derivative: analytic " << analytic
              << ", finite differences " << numeric;
    EXPECT_NEAR(numeric, analytic, 0.01 * std::abs(analytic) + 1e-3)
        << "analytic " << analytic << " numeric " << numeric;
  }
}

TEST(FusedStepTest, UnsupportedModelsAreUnimplemented) {
  ModelOptions o = SmallOptions(true);
  ADModel model(o);
  model->to(torch::kDouble);
  EXPECT_EQ(FusedTrainingStep::Create(model).status().code(),
            absl::StatusCode::kUnimplemented);
}

// N fused and N torch optimizer steps from the same initialisation, through
// Trainer (Adam, clipping, schedule), reach the same parameters.
TEST(FusedStepTest, TrainingMatchesTheTorchEngine) {
  ASSERT_TRUE(ConfigureThreads(2).ok());
  auto config = BuiltinPreset("test");
  ASSERT_TRUE(config.ok());
  config->train.label_smoothing = 0.1;
  // Some gradients are zero up to rounding (the key bias: softmax ignores a
  // constant shift), and Adam divides them by their own tiny scale; an eps
  // well above rounding noise keeps those updates small in both engines.
  config->train.adam_eps = 1e-6;
  constexpr int kSteps = 8;
  std::vector<Example> batches;
  for (int i = 0; i < kSteps; ++i) {
    batches.push_back(
        RandomExample(config->model, 6, config->model.context_len, 100 + i));
  }
  std::vector<std::vector<torch::Tensor>> finals;
  std::vector<std::vector<double>> losses;
  for (const char* engine : {"torch", "fused"}) {
    config->train.engine = engine;
    auto trainer = Trainer::Create(*config, torch::kCPU);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    losses.emplace_back();
    for (const Example& e : batches) {
      TrainingBatch batch;
      batch.input = e.input;
      batch.targets = e.targets;
      batch.tokens = e.targets.numel();
      auto stats = (*trainer)->Step(batch);
      ASSERT_TRUE(stats.ok()) << stats.status();
      losses.back().push_back(stats->loss);
    }
    finals.emplace_back();
    for (const torch::Tensor& p : (*trainer)->model()->parameters()) {
      finals.back().push_back(p.detach().clone());
    }
  }
  for (int i = 0; i < kSteps; ++i) {
    EXPECT_NEAR(losses[1][i], losses[0][i], 1e-4) << "step " << i + 1;
  }
  // The steps moved the parameters by about lr_peak * kSteps = 0.024.
  double moved = 0, differ = 0;
  for (size_t i = 0; i < finals[0].size(); ++i) {
    differ = std::max(differ,
                      (finals[1][i] - finals[0][i]).abs().max().item<double>());
  }
  auto fresh = Trainer::Create(*config, torch::kCPU);
  ASSERT_TRUE(fresh.ok());
  auto init = (*fresh)->model()->parameters();
  for (size_t i = 0; i < init.size(); ++i) {
    moved =
        std::max(moved, (finals[0][i] - init[i]).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-3);
  LOG(INFO) << "parameters moved up to " << moved << "; engines differ by "
            << differ;
  EXPECT_LT(differ, 1e-4) << "parameters moved up to " << moved;
}

}  // namespace
}  // namespace ad::learner
