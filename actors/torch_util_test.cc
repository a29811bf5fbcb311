#include "actors/torch_util.h"

#include <cmath>
#include <vector>

#include "envs/registry.h"
#include "envs/watermaze.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

constexpr int kH = envs::kWatermazeHeight;
constexpr int kW = envs::kWatermazeWidth;

envs::SpaceSpec WatermazeSpace() {
  auto family = envs::FindFamily("watermaze");
  CHECK(family.ok()) << family.status();
  return (*family)->space();
}

// A frame whose every value says where it is: row, column and channel.
std::vector<int32_t> LabelledFrame() {
  std::vector<int32_t> frame(static_cast<size_t>(kH) * kW * 3);
  for (int r = 0; r < kH; ++r) {
    for (int c = 0; c < kW; ++c) {
      for (int ch = 0; ch < 3; ++ch) {
        frame[(r * kW + c) * 3 + ch] = (r * 7 + c * 3 + ch * 50) % 256;
      }
    }
  }
  return frame;
}

TEST(PixelEncoderTest, WritesPlanarChannelsScaledToOne) {
  auto encoder = PixelEncoder::Create(WatermazeSpace(), /*downsample=*/1);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  EXPECT_EQ((*encoder)->width(), 3 * kH * kW);
  const std::vector<int32_t> frame = LabelledFrame();
  std::vector<float> out(3 * kH * kW);
  (*encoder)->Encode(frame, /*n=*/1, out.data());
  // Feature (ch, r, c) sits at ch * H * W + r * W + c.
  EXPECT_FLOAT_EQ(out[0 * kH * kW + 0 * kW + 0], 0.0f);
  EXPECT_FLOAT_EQ(out[1 * kH * kW + 2 * kW + 5], (14 + 15 + 50) / 255.0f);
  EXPECT_FLOAT_EQ(out[2 * kH * kW + 71 * kW + 95],
                  ((71 * 7 + 95 * 3 + 100) % 256) / 255.0f);
  for (int ch = 0; ch < 3; ++ch) {
    for (int r = 0; r < kH; ++r) {
      for (int c = 0; c < kW; ++c) {
        ASSERT_FLOAT_EQ(out[(ch * kH + r) * kW + c],
                        frame[(r * kW + c) * 3 + ch] / 255.0f)
            << ch << " " << r << " " << c;
      }
    }
  }
}

TEST(PixelEncoderTest, DecodesARenderedFrame) {
  // Independent of the layout arithmetic above: the top row of any view is
  // sky (the wall's top is far below the edge of the field of view), which
  // the renderer never dims, so each plane's row 0 is the sky's channel.
  envs::WatermazePose pose;
  pose.heading = 3;
  std::vector<uint8_t> bytes(envs::kWatermazeFrameBytes);
  envs::RenderWatermazeFrame(pose, absl::MakeSpan(bytes));
  const std::vector<int32_t> frame(bytes.begin(), bytes.end());
  auto encoder = PixelEncoder::Create(WatermazeSpace(), /*downsample=*/1);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  std::vector<uint8_t> codes(3 * kH * kW);
  (*encoder)->EncodeCodes(frame, /*n=*/1, codes.data());
  for (int ch = 0; ch < 3; ++ch) {
    for (int c = 0; c < kW; ++c) {
      ASSERT_EQ(codes[ch * kH * kW + c], envs::kWatermazeSkyColour[ch])
          << "channel " << ch << ", column " << c;
    }
  }
  // The frame's centre column, half-way down, shows the wall.
  const int r = kH / 2 - 2, c = kW / 2;
  for (int ch = 0; ch < 3; ++ch) {
    EXPECT_EQ(codes[(ch * kH + r) * kW + c], bytes[(r * kW + c) * 3 + ch]);
  }
}

TEST(PixelEncoderTest, DownsamplesByRoundedBlockMeans) {
  auto encoder = PixelEncoder::Create(WatermazeSpace(), /*downsample=*/4);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  EXPECT_EQ((*encoder)->shape().height, 18);
  EXPECT_EQ((*encoder)->shape().width, 24);
  const std::vector<int32_t> frame = LabelledFrame();
  std::vector<int32_t> two(frame);
  two.insert(two.end(), frame.rbegin(), frame.rend());  // a second frame
  std::vector<uint8_t> codes(2 * 3 * 18 * 24);
  (*encoder)->EncodeCodes(two, /*n=*/2, codes.data());
  for (int i = 0; i < 2; ++i) {
    for (int ch = 0; ch < 3; ++ch) {
      for (int y = 0; y < 18; ++y) {
        for (int x = 0; x < 24; ++x) {
          double sum = 0;
          for (int dy = 0; dy < 4; ++dy) {
            for (int dx = 0; dx < 4; ++dx) {
              sum += two[i * kH * kW * 3 +
                         ((4 * y + dy) * kW + 4 * x + dx) * 3 + ch];
            }
          }
          ASSERT_EQ(codes[((i * 3 + ch) * 18 + y) * 24 + x],
                    std::lround(sum / 16))
              << i << " " << ch << " " << y << " " << x;
        }
      }
    }
  }
}

TEST(PixelEncoderTest, RejectsNonPixelFamiliesAndBadFactors) {
  auto darkroom = envs::FindFamily("darkroom");
  ASSERT_TRUE(darkroom.ok());
  EXPECT_FALSE(PixelEncoder::Create((*darkroom)->space(), 1).ok());
  EXPECT_FALSE(PixelEncoder::Create(WatermazeSpace(), 0).ok());
  EXPECT_FALSE(PixelEncoder::Create(WatermazeSpace(), 5).ok());  // 72 % 5
  EXPECT_TRUE(PixelEncoder::Create(WatermazeSpace(), 6).ok());
}

TEST(OneHotEncoderTest, CodesMatchFeatures) {
  auto darkroom = envs::FindFamily("darkroom");
  ASSERT_TRUE(darkroom.ok());
  auto encoder = OneHotEncoder::Create((*darkroom)->space());
  ASSERT_TRUE(encoder.ok());
  const std::vector<int32_t> obs = {3, 5, 0, 8};
  std::vector<uint8_t> codes(2 * 18);
  std::vector<float> features(2 * 18);
  (*encoder)->EncodeCodes(obs, 2, codes.data());
  (*encoder)->Encode(obs, 2, features.data());
  for (size_t k = 0; k < codes.size(); ++k) {
    EXPECT_EQ(features[k], codes[k] * (*encoder)->code_scale());
  }
  EXPECT_EQ(codes[3], 1);
  EXPECT_EQ(codes[9 + 5], 1);
  EXPECT_EQ(codes[18 + 0], 1);
  EXPECT_EQ(codes[18 + 9 + 8], 1);
}

}  // namespace
}  // namespace ad::actors
