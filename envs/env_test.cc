// Tests of the default EnvFamily::Split.
#include "envs/env.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "envs/darkroom.h"
#include "envs/key_to_door.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ad::envs {
namespace {

void ExpectPartition(const EnvFamily& family, const TaskSplit& split,
                     double train_fraction) {
  const std::vector<std::string> all = family.AllTasks();
  const std::set<std::string> train(split.train.begin(), split.train.end());
  const std::set<std::string> test(split.test.begin(), split.test.end());
  EXPECT_EQ(train.size(), split.train.size()) << "duplicates in train";
  EXPECT_EQ(test.size(), split.test.size()) << "duplicates in test";
  for (const std::string& id : split.train) EXPECT_EQ(test.count(id), 0u);
  std::vector<std::string> both = split.train;
  both.insert(both.end(), split.test.begin(), split.test.end());
  std::sort(both.begin(), both.end());
  std::vector<std::string> sorted_all = all;
  std::sort(sorted_all.begin(), sorted_all.end());
  EXPECT_EQ(both, sorted_all);
  EXPECT_EQ(split.train.size(),
            static_cast<size_t>(std::llround(train_fraction * all.size())));
}

TEST(SplitTest, IsADeterministicPartitionRespectingTheFraction) {
  const DarkRoomFamily darkroom(DarkRoomDefaultParams());
  const DarkRoomFamily hard(DarkRoomHardParams());
  const KeyToDoorFamily key_to_door;
  for (const EnvFamily* family :
       std::vector<const EnvFamily*>{&darkroom, &hard, &key_to_door}) {
    SCOPED_TRACE(family->space().family);
    for (double fraction : {0.0, 0.25, 0.75, 0.9, 1.0}) {
      const TaskSplit split = family->Split(fraction, /*seed=*/3);
      ExpectPartition(*family, split, fraction);
      const TaskSplit again = family->Split(fraction, /*seed=*/3);
      EXPECT_EQ(split.train, again.train);
      EXPECT_EQ(split.test, again.test);
    }
  }
}

TEST(SplitTest, DifferentSeedsGiveDifferentSplits) {
  const DarkRoomFamily darkroom(DarkRoomDefaultParams());
  const TaskSplit a = darkroom.Split(0.75, /*seed=*/1);
  const TaskSplit b = darkroom.Split(0.75, /*seed=*/2);
  EXPECT_EQ(a.train.size(), 61u);
  EXPECT_NE(a.train, b.train);
}

TEST(SplitTest, SidesKeepTheFamilyOrder) {
  const DarkRoomFamily darkroom(DarkRoomDefaultParams());
  const std::vector<std::string> all = darkroom.AllTasks();
  const TaskSplit split = darkroom.Split(0.5, /*seed=*/8);
  auto position = [&](const std::string& id) {
    return std::find(all.begin(), all.end(), id) - all.begin();
  };
  for (size_t i = 1; i < split.train.size(); ++i) {
    EXPECT_LT(position(split.train[i - 1]), position(split.train[i]));
  }
}

TEST(EvenlySpacedTasksTest, PicksEveryKthInOrderAndAllWhenNotSmaller) {
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(std::to_string(i));
  EXPECT_THAT(EvenlySpacedTasks(ten, 3), ::testing::ElementsAre("0", "3", "6"));
  EXPECT_THAT(EvenlySpacedTasks(ten, 4),
              ::testing::ElementsAre("0", "2", "5", "7"));
  EXPECT_EQ(EvenlySpacedTasks(ten, 0), ten);
  EXPECT_EQ(EvenlySpacedTasks(ten, 10), ten);
  EXPECT_EQ(EvenlySpacedTasks(ten, 25), ten);
  // Spread over the whole list: the last pick lies in its last 1/n.
  const DarkRoomFamily darkroom(DarkRoomDefaultParams());
  const std::vector<std::string> all = darkroom.AllTasks();
  const std::vector<std::string> five = EvenlySpacedTasks(all, 5);
  ASSERT_EQ(five.size(), 5u);
  EXPECT_EQ(five.front(), all.front());
  const auto last = std::find(all.begin(), all.end(), five.back());
  EXPECT_GE(static_cast<size_t>(last - all.begin()), all.size() * 4 / 5);
}

TEST(SplitDeathTest, DiesOnAFractionOutsideZeroToOne) {
  const DarkRoomFamily darkroom(DarkRoomDefaultParams());
  EXPECT_DEATH(darkroom.Split(1.5, 0), "train_fraction");
}

}  // namespace
}  // namespace ad::envs
