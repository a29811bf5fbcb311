#include "services/env/env_session.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::services {
namespace {

using ::testing::HasSubstr;

ad::v1::OpenSession DarkRoomOpen(int n) {
  ad::v1::OpenSession open;
  open.set_family("darkroom");
  open.add_task_ids("darkroom/goal=0,0");
  open.set_num_instances(static_cast<uint32_t>(n));
  open.set_seed(3);
  return open;
}

absl::Status OpenStatus(const ad::v1::OpenSession& open,
                        const SessionLimits& limits = {}) {
  ad::v1::SpaceSpec space;
  ad::v1::StepBatch first;
  return EnvSession::Open(open, limits, &space, &first).status();
}

TEST(EnvSessionTest, OpenReturnsSpaceAndFirstObservations) {
  ad::v1::SpaceSpec space;
  ad::v1::StepBatch first;
  auto session = EnvSession::Open(DarkRoomOpen(3), {}, &space, &first);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(space.family(), "darkroom");
  EXPECT_EQ(space.obs_dim(), 2u);
  EXPECT_EQ(space.num_actions(), 5u);
  EXPECT_EQ(first.obs_dim(), 2u);
  EXPECT_THAT(first.obs(), ::testing::ElementsAre(4, 4, 4, 4, 4, 4));
  EXPECT_EQ(first.rewards_size(), 0);
  EXPECT_TRUE(first.dones().empty());
}

TEST(EnvSessionTest, OpenErrorsNameTheField) {
  ad::v1::OpenSession open = DarkRoomOpen(2);
  open.set_family("nope");
  absl::Status status = OpenStatus(open);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("open.family"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("darkroom"));

  open = DarkRoomOpen(0);
  status = OpenStatus(open);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("open.num_instances"));

  open = DarkRoomOpen(3);
  open.add_task_ids("darkroom/goal=1,1");  // 2 ids for 3 instances
  status = OpenStatus(open);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("open.task_ids has 2"));

  open = DarkRoomOpen(2);
  open.add_task_ids("darkroom/goal=9,9");  // off the 9x9 grid
  status = OpenStatus(open);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("open.task_ids[1]"));

  open = DarkRoomOpen(1);
  open.set_task_ids(0, "bandit/regime=odd,index=0");  // another family's
  status = OpenStatus(open);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("open.task_ids[0]"));
}

TEST(EnvSessionTest, LimitsAreResourceExhausted) {
  SessionLimits limits;
  limits.max_instances = 8;
  absl::Status status = OpenStatus(DarkRoomOpen(9), limits);
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("open.num_instances"));
  EXPECT_TRUE(OpenStatus(DarkRoomOpen(8), limits).ok());

  limits = SessionLimits();
  limits.max_message_bytes = 4096;
  status = OpenStatus(DarkRoomOpen(1000), limits);
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("max_message_bytes"));
}

TEST(EnvSessionTest, RejectedStepChangesNothing) {
  ad::v1::SpaceSpec space;
  ad::v1::StepBatch batch;
  auto session = EnvSession::Open(DarkRoomOpen(2), {}, &space, &batch);
  ASSERT_TRUE(session.ok()) << session.status();

  ad::v1::ActionBatch actions;
  actions.add_actions(1);  // one action for two instances
  absl::Status status = (*session)->Step(actions, &batch);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()), HasSubstr("step.actions has 1"));

  actions.add_actions(-1);
  status = (*session)->Step(actions, &batch);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("step.actions[1] = -1 is outside [0, 5)"));

  actions.set_actions(1, 4);  // 4 = right: (4,4) -> (5,4)
  ASSERT_TRUE((*session)->Step(actions, &batch).ok());
  // Instance 0 moved up once (1 = up): the rejected steps did not count.
  EXPECT_THAT(batch.obs(), ::testing::ElementsAre(4, 5, 5, 4));
  EXPECT_EQ(batch.rewards_size(), 2);
  EXPECT_EQ(batch.dones().size(), 2u);
}

TEST(EnvSessionTest, ExpertAndReset) {
  ad::v1::SpaceSpec space;
  ad::v1::StepBatch batch;
  auto session = EnvSession::Open(DarkRoomOpen(2), {}, &space, &batch);
  ASSERT_TRUE(session.ok()) << session.status();
  google::protobuf::RepeatedField<int32_t> expert;
  ASSERT_TRUE((*session)->ExpertActions(&expert).ok());
  ASSERT_EQ(expert.size(), 2);
  ad::v1::ActionBatch actions;
  actions.mutable_actions()->Add(expert.begin(), expert.end());
  ASSERT_TRUE((*session)->Step(actions, &batch).ok());
  EXPECT_NE(batch.obs(0) + batch.obs(1), 8);  // moved toward (0,0)
  ASSERT_TRUE((*session)->Reset(&batch).ok());
  EXPECT_THAT(batch.obs(), ::testing::ElementsAre(4, 4, 4, 4));
  EXPECT_EQ(batch.rewards_size(), 0);
}

}  // namespace
}  // namespace ad::services
