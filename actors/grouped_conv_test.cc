#include "actors/grouped_conv.h"

#include <random>

#include "gtest/gtest.h"

namespace ad::actors {
namespace {

ConvTorsoSpec SmallSpec() {
  ConvTorsoSpec spec;
  spec.input = ImageShape{/*channels=*/3, /*height=*/18, /*width=*/24};
  spec.channels = {4, 8};
  spec.res_blocks = 1;
  return spec;
}

TEST(GroupedConvTorsoTest, OutputShapeFollowsThePools) {
  // Each stage keeps the size through its 3x3 "same" conv and halves it,
  // rounding up, through the 3x3 stride-2 pool: 18 x 24 -> 9 x 12 -> 5 x 6.
  absl::StatusOr<ImageShape> small = SmallSpec().OutputShape();
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->channels, 8);
  EXPECT_EQ(small->height, 5);
  EXPECT_EQ(small->width, 6);
  // Table 5 on the full frame: 72 x 96 -> 36 x 48 -> 18 x 24 -> 9 x 12.
  ConvTorsoSpec paper;
  paper.input = ImageShape{3, 72, 96};
  paper.channels = {32, 64, 64};
  absl::StatusOr<ImageShape> full = paper.OutputShape();
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->channels, 64);
  EXPECT_EQ(full->height, 9);
  EXPECT_EQ(full->width, 12);
}

TEST(GroupedConvTorsoTest, ForwardHasTheAdvertisedShape) {
  std::mt19937_64 rng(1);
  GroupedConvTorso torso(/*groups=*/2, SmallSpec(), rng);
  EXPECT_EQ(torso.out_width(), 8 * 5 * 6);
  torch::Tensor out = torso.Forward(torch::rand({2, 7, 3 * 18 * 24}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 7, 8 * 5 * 6}));
  EXPECT_GE(out.min().item<float>(), 0.0f);  // the final ReLU
}

TEST(GroupedConvTorsoTest, GradientsReachEveryWeight) {
  std::mt19937_64 rng(2);
  GroupedConvTorso torso(/*groups=*/2, SmallSpec(), rng);
  torso.Forward(torch::rand({2, 4, 3 * 18 * 24})).pow(2).sum().backward();
  const std::vector<torch::Tensor> params = torso.parameters();
  ASSERT_EQ(params.size(), 2u * (2 + 2 * 2));  // 2 stages x (conv + block)
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i].grad().defined()) << "parameter " << i;
    for (int g = 0; g < 2; ++g) {
      EXPECT_GT(params[i].grad()[g].abs().sum().item<float>(), 0.0f)
          << "parameter " << i << ", learner " << g;
    }
  }
}

TEST(GroupedConvTorsoTest, LearnersSeeOnlyTheirOwnInputsAndWeights) {
  std::mt19937_64 rng(3);
  GroupedConvTorso torso(/*groups=*/2, SmallSpec(), rng);
  torch::Tensor x = torch::rand({2, 3, 3 * 18 * 24});
  torch::Tensor changed = x.clone();
  changed[1].uniform_();
  torch::Tensor a = torso.Forward(x);
  torch::Tensor b = torso.Forward(changed);
  EXPECT_TRUE(torch::equal(a[0], b[0]));
  EXPECT_FALSE(torch::equal(a[1], b[1]));
  // A loss on learner 0 alone gives learner 1 no gradient.
  a[0].sum().backward();
  for (const torch::Tensor& p : torso.parameters()) {
    EXPECT_EQ(p.grad()[1].abs().sum().item<float>(), 0.0f);
  }
}

TEST(GroupedConvTorsoTest, CopyFromMakesEqualOutputs) {
  std::mt19937_64 rng(4);
  GroupedConvTorso a(/*groups=*/1, SmallSpec(), rng);
  GroupedConvTorso b(/*groups=*/1, SmallSpec(), rng);
  torch::Tensor x = torch::rand({1, 2, 3 * 18 * 24});
  EXPECT_FALSE(torch::equal(a.Forward(x), b.Forward(x)));
  b.CopyFrom(a);
  EXPECT_TRUE(torch::equal(a.Forward(x), b.Forward(x)));
}

TEST(GroupedConvTorsoTest, OutputShapeRejectsBadSizesNamingTheField) {
  ConvTorsoSpec spec = SmallSpec();
  spec.kernel = 0;
  EXPECT_NE(spec.OutputShape().status().message().find("conv_kernel"),
            std::string::npos);
  spec = SmallSpec();
  spec.channels = {4, 0};
  EXPECT_NE(spec.OutputShape().status().message().find("conv_channels"),
            std::string::npos);
  spec = SmallSpec();
  spec.res_blocks = -1;
  EXPECT_NE(spec.OutputShape().status().message().find("conv_res_blocks"),
            std::string::npos);
}

}  // namespace
}  // namespace ad::actors
