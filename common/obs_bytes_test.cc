#include "common/obs_bytes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace ad {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ObsBytesTest, RoundTripsEveryByteValue) {
  std::vector<int32_t> obs(256);
  for (int v = 0; v < 256; ++v) obs[v] = v;
  std::string bytes;
  ObsToBytes(obs, &bytes);
  ASSERT_EQ(bytes.size(), 256u);
  EXPECT_EQ(static_cast<uint8_t>(bytes[200]), 200);
  std::vector<int32_t> back(256, -1);
  ObsFromBytes(bytes, absl::MakeSpan(back));
  EXPECT_EQ(back, obs);
}

TEST(ObsBytesDeathTest, AValueOutsideAByteIsAProgrammerError) {
  const std::vector<int32_t> obs = {1, 256};
  std::string bytes;
  EXPECT_DEATH(ObsToBytes(obs, &bytes), "obs\\[1\\] = 256");
  const std::vector<int32_t> negative = {-1};
  EXPECT_DEATH(ObsToBytes(negative, &bytes), "obs\\[0\\] = -1");
}

TEST(ObsBytesTest, CheckObsFieldsNamesTheFieldAndTheCounts) {
  EXPECT_TRUE(CheckObsFields("chunk", 6, 0, 6).ok());
  EXPECT_TRUE(CheckObsFields("chunk", 0, 6, 6).ok());
  EXPECT_TRUE(CheckObsFields("chunk", 0, 0, 0).ok());
  const absl::Status both = CheckObsFields("chunk", 6, 6, 6);
  EXPECT_EQ(both.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(both.message(),
              HasSubstr("chunk.obs (6 values) and chunk.obs_u8"));
  const absl::Status short_u8 = CheckObsFields("batch", 0, 5, 6);
  EXPECT_THAT(short_u8.message(),
              HasSubstr("batch.obs_u8 has 5 bytes; expected 6"));
  const absl::Status short_obs = CheckObsFields("chunk", 4, 0, 6);
  EXPECT_THAT(short_obs.message(),
              HasSubstr("chunk.obs has 4 values; expected 6"));
}

}  // namespace
}  // namespace ad
