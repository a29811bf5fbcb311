#include "learner/fast_dropout.h"

#include "gtest/gtest.h"

namespace ad::learner {
namespace {

TEST(FastDropoutTest, MaskKeepsAboutOneMinusPAndScales) {
  for (double p : {0.1, 0.5}) {
    torch::Tensor mask = DropoutMask({1000, 1001}, p, /*seed=*/3);
    const double kept = mask.gt(0).to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(kept, 1 - p, 0.003) << p;
    EXPECT_NEAR(mask.max().item<float>(), 1 / (1 - p), 1e-6);
    // Unbiased: E[mask] = 1.
    EXPECT_NEAR(mask.to(torch::kDouble).mean().item<double>(), 1.0, 0.01);
  }
}

TEST(FastDropoutTest, SeedDeterminesTheMask) {
  EXPECT_TRUE(
      DropoutMask({64, 33}, 0.3, 7).equal(DropoutMask({64, 33}, 0.3, 7)));
  EXPECT_FALSE(
      DropoutMask({64, 33}, 0.3, 7).equal(DropoutMask({64, 33}, 0.3, 8)));
}

TEST(FastDropoutTest, FollowsTheDefaultGeneratorAndBackpropagatesTheMask) {
  torch::Tensor x = torch::ones({8, 100}, torch::requires_grad());
  torch::manual_seed(11);
  torch::Tensor a = FastDropout(x, 0.25, /*training=*/true);
  torch::manual_seed(11);
  torch::Tensor b = FastDropout(x, 0.25, /*training=*/true);
  EXPECT_TRUE(a.equal(b));
  a.sum().backward();
  EXPECT_TRUE(x.grad().equal(a.detach()));  // d(x * m)/dx = m, x = 1
  EXPECT_TRUE(FastDropout(x, 0.25, /*training=*/false).equal(x));
}

}  // namespace
}  // namespace ad::learner
