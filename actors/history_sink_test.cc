#include "actors/history_sink.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::actors {
namespace {

ad::v1::HistoryMeta Meta() {
  ad::v1::HistoryMeta meta;
  meta.set_history_id("h1");
  meta.set_env("darkroom");
  meta.set_task_id("darkroom/goal=1,2");
  meta.set_source("q_learning");
  meta.set_seed(7);
  meta.set_obs_dim(2);
  meta.set_num_actions(5);
  // Summary fields the store fills: never sent.
  meta.set_length(99);
  meta.set_episodes(3);
  meta.add_episode_returns(1.5f);
  meta.set_complete(true);
  return meta;
}

TransitionChunk Chunk(uint64_t seq) {
  TransitionChunk chunk;
  chunk.seq = seq;
  chunk.transitions.set_obs_dim(2);
  chunk.transitions.add_obs(4);
  chunk.transitions.add_obs(5);
  chunk.transitions.add_actions(3);
  chunk.transitions.add_rewards(1.0f);
  chunk.transitions.set_dones(std::string(1, '\1'));
  chunk.episode_returns = {1.0f};
  return chunk;
}

TEST(MakeAppendRequestTest, FirstChunkCarriesTheIdentityWithoutSummary) {
  const ad::v1::AppendRequest request =
      MakeAppendRequest(Meta(), Chunk(0), /*final=*/false);
  EXPECT_EQ(request.history_id(), "h1");
  EXPECT_EQ(request.seq(), 0u);
  EXPECT_FALSE(request.final());
  ASSERT_TRUE(request.has_meta());
  EXPECT_EQ(request.meta().task_id(), "darkroom/goal=1,2");
  EXPECT_EQ(request.meta().source(), "q_learning");
  EXPECT_EQ(request.meta().seed(), 7u);
  EXPECT_EQ(request.meta().num_actions(), 5u);
  EXPECT_EQ(request.meta().length(), 0u);
  EXPECT_EQ(request.meta().episodes(), 0u);
  EXPECT_EQ(request.meta().episode_returns_size(), 0);
  EXPECT_FALSE(request.meta().complete());
  EXPECT_THAT(request.chunk().obs(), ::testing::ElementsAre(4, 5));
  EXPECT_THAT(request.chunk().actions(), ::testing::ElementsAre(3));
  EXPECT_EQ(request.chunk().dones(), std::string(1, '\1'));
}

TEST(MakeAppendRequestTest, LaterChunksCarryNoMeta) {
  const ad::v1::AppendRequest request =
      MakeAppendRequest(Meta(), Chunk(2), /*final=*/true);
  EXPECT_EQ(request.seq(), 2u);
  EXPECT_TRUE(request.final());
  EXPECT_FALSE(request.has_meta());
  EXPECT_EQ(request.chunk().actions_size(), 1);
}

TEST(ValidateChunkTest, ObservationsComeInExactlyOneOfObsAndObsU8) {
  TransitionChunk bytes = Chunk(0);
  bytes.transitions.clear_obs();
  bytes.transitions.set_obs_u8(std::string("\x04\x05", 2));
  EXPECT_TRUE(ValidateChunk(Meta(), bytes).ok());
  TransitionChunk both = Chunk(0);
  both.transitions.set_obs_u8(std::string("\x04\x05", 2));
  const absl::Status both_set = ValidateChunk(Meta(), both);
  EXPECT_EQ(both_set.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(both_set.message().find("chunk.transitions.obs (2 values) and "
                                    "chunk.transitions.obs_u8"),
            std::string::npos)
      << both_set;
  TransitionChunk short_bytes = bytes;
  short_bytes.transitions.set_obs_u8(std::string(1, '\x04'));
  EXPECT_NE(ValidateChunk(Meta(), short_bytes)
                .message()
                .find("chunk.transitions.obs_u8 has 1 bytes; expected 2"),
            std::string::npos);
}

}  // namespace
}  // namespace ad::actors
