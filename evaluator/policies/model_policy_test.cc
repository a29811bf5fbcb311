#include "evaluator/policies/model_policy.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "envs/registry.h"
#include "evaluator/context_buffer.h"
#include "evaluator/rollout.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/checkpoint.h"
#include "learner/config.h"

namespace ad::evaluator {
namespace {

using ::testing::HasSubstr;

learner::ADModel TinyModel(int context_len = 16) {
  absl::StatusOr<learner::LearnerConfig> config =
      learner::BuiltinPreset("test");
  CHECK(config.ok()) << config.status();
  config->model.context_len = context_len;
  torch::manual_seed(3);
  absl::StatusOr<learner::ADModel> model =
      learner::CreateModel(config->model, torch::kCPU);
  CHECK(model.ok()) << model.status();
  return *model;
}

std::vector<RowSpec> Rows(int tasks, int seeds) {
  const envs::EnvFamily& family = **envs::FindFamily("darkroom");
  std::vector<std::string> all = family.AllTasks();
  std::vector<RowSpec> rows;
  for (int t = 0; t < tasks; ++t) {
    for (int s = 0; s < seeds; ++s) {
      rows.push_back(RowSpec{all[(t * 11) % all.size()], uint64_t(s)});
    }
  }
  return rows;
}

// Dark Room on `rows` (env seed 1) feeding a ContextBuffer of `capacity`
// transitions per row as a rollout does, every row taking the scripted
// action (step * 3 + r) % 5 at each step.
class ScriptedDarkRoom {
 public:
  ScriptedDarkRoom(const std::vector<RowSpec>& rows, int capacity)
      : n_(static_cast<int>(rows.size())),
        buffer_(n_, capacity, /*obs_dim=*/2),
        obs_(2 * n_),
        next_(2 * n_),
        actions_(n_),
        rewards_(n_),
        dones_(n_) {
    std::vector<std::string> tasks;
    for (const RowSpec& row : rows) tasks.push_back(row.task_id);
    auto env = (*envs::FindFamily("darkroom"))->Make(tasks, n_, /*seed=*/1);
    CHECK(env.ok()) << env.status();
    env_ = *std::move(env);
  }

  // The env's first observation, current in the buffer.
  absl::Status Reset() {
    AD_RETURN_IF_ERROR(env_->Reset(absl::MakeSpan(obs_)));
    return buffer_.SetCurrentObs(obs_);
  }

  // The scripted actions of `step`; the transition goes into the buffer and
  // the next observation becomes current.
  absl::Status Step(int step) {
    for (int r = 0; r < n_; ++r) actions_[r] = (step * 3 + r) % 5;
    AD_RETURN_IF_ERROR(env_->Step(
        actions_,
        envs::StepOutput{absl::MakeSpan(next_), absl::MakeSpan(rewards_),
                         absl::MakeSpan(dones_)}));
    AD_RETURN_IF_ERROR(buffer_.Push(obs_, actions_, rewards_, dones_));
    obs_.swap(next_);
    return buffer_.SetCurrentObs(obs_);
  }

  ContextBatch All() const { return buffer_.All(); }

 private:
  const int n_;
  std::unique_ptr<envs::BatchedEnv> env_;
  ContextBuffer buffer_;
  std::vector<int32_t> obs_, next_, actions_;
  std::vector<float> rewards_;
  std::vector<uint8_t> dones_;
};

TEST(ModelPolicyTest, BatchedForwardEqualsPerRowForward) {
  const envs::EnvFamily& family = **envs::FindFamily("darkroom");
  const std::vector<RowSpec> rows = Rows(4, 3);
  for (double temperature : {0.0, 1.0}) {
    ModelPolicy::Options options;
    options.temperature = temperature;
    options.threads = 1;
    auto batched_policy = ModelPolicy::FromModel(TinyModel(), options);
    auto single_policy = ModelPolicy::FromModel(TinyModel(), options);
    ASSERT_TRUE(batched_policy.ok()) << batched_policy.status();
    RolloutOptions rollout;
    rollout.episodes = 3;
    rollout.context_len = 15;
    auto batched = RunRollout(family, rows, **batched_policy, rollout);
    rollout.rows_per_call = 1;
    auto single = RunRollout(family, rows, **single_policy, rollout);
    ASSERT_TRUE(batched.ok()) << batched.status();
    ASSERT_TRUE(single.ok()) << single.status();
    EXPECT_EQ(batched->returns, single->returns)
        << "temperature " << temperature;
    EXPECT_EQ(batched->policy_calls, 60);
    EXPECT_EQ(single->policy_calls, 60 * 12);
  }
}

TEST(ModelPolicyTest, LogitsOfASliceEqualThoseInTheFullBatch) {
  ModelPolicy::Options options;
  options.threads = 1;
  auto policy = ModelPolicy::FromModel(TinyModel(), options);
  ASSERT_TRUE(policy.ok());
  ContextBuffer buffer(/*rows=*/5, /*capacity=*/20, /*obs_dim=*/2);
  for (int t = 0; t < 25; ++t) {
    std::vector<int32_t> obs, actions;
    std::vector<float> rewards;
    std::vector<uint8_t> dones;
    for (int r = 0; r < 5; ++r) {
      obs.insert(obs.end(), {(t + r) % 9, (2 * t + r) % 9});
      actions.push_back((t * r) % 5);
      rewards.push_back((t + r) % 4 == 0 ? 1.0f : 0.0f);
      dones.push_back(t % 20 == 19);
    }
    ASSERT_TRUE(buffer.Push(obs, actions, rewards, dones).ok());
  }
  ASSERT_TRUE(buffer.SetCurrentObs({1, 2, 3, 4, 5, 6, 7, 8, 0, 0}).ok());
  auto all = (*policy)->Logits(buffer.All());
  auto slice = (*policy)->Logits(buffer.View(3, 1));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_TRUE(slice.ok()) << slice.status();
  ASSERT_EQ(slice->size(), 5u);
  for (int a = 0; a < 5; ++a) {
    EXPECT_NEAR((*slice)[a], (*all)[3 * 5 + a], 1e-4);
  }
  // The model sees at most its window: 15 past transitions of the 20 held.
  EXPECT_EQ((*policy)->max_past(), 15);
}

TEST(ModelPolicyTest, RejectsASpaceItWasNotTrainedOn) {
  auto policy = ModelPolicy::FromModel(TinyModel(), ModelPolicy::Options());
  ASSERT_TRUE(policy.ok());
  const envs::EnvFamily& bandit = **envs::FindFamily("bandit");
  absl::Status s = (*policy)->Begin(bandit.space(), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("obs_dim"));
  const envs::EnvFamily& hard = **envs::FindFamily("darkroom_hard");
  s = (*policy)->Begin(hard.space(), {});
  EXPECT_THAT(s.message(), HasSubstr("obs_high"));
}

TEST(ModelPolicyTest, RejectsBadOptionsNamingTheField) {
  ModelPolicy::Options options;
  options.max_past = 16;  // the window is 16 tokens: at most 15 past
  auto policy = ModelPolicy::FromModel(TinyModel(16), options);
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(policy.status().message(), HasSubstr("context_len"));
  options = ModelPolicy::Options();
  options.temperature = -1;
  policy = ModelPolicy::FromModel(TinyModel(), options);
  EXPECT_THAT(policy.status().message(), HasSubstr("temperature"));
}

TEST(ModelPolicyTest, LoadsACheckpointFile) {
  absl::StatusOr<learner::LearnerConfig> config =
      learner::BuiltinPreset("test");
  ASSERT_TRUE(config.ok());
  learner::CheckpointContents contents;
  contents.config = &*config;
  contents.model = TinyModel();
  contents.step = 42;
  const std::string path =
      std::string(::testing::TempDir()) + "/model_policy_test.pt";
  ASSERT_TRUE(learner::WriteCheckpoint(path, contents).ok());
  auto policy = ModelPolicy::Load(path, ModelPolicy::Options());
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->step(), 42);
  auto missing = ModelPolicy::Load(path + ".nope", ModelPolicy::Options());
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr(".nope"));
}

}  // namespace
}  // namespace ad::evaluator

namespace ad::evaluator {
namespace {

// The cached ("chunk") forward gives the learner's own logits for the
// window it holds, step after step, across the half-window restarts.
TEST(ModelPolicyTest, ChunkWindowMatchesAFullForwardOfTheSameWindow) {
  const envs::EnvFamily& family = **envs::FindFamily("darkroom");
  const std::vector<RowSpec> rows = Rows(3, 2);
  ModelPolicy::Options chunk_options;
  chunk_options.window = "chunk";
  chunk_options.threads = 1;
  auto cached = ModelPolicy::FromModel(TinyModel(16), chunk_options);
  auto full = ModelPolicy::FromModel(TinyModel(16), ModelPolicy::Options());
  ASSERT_TRUE(cached.ok()) << cached.status();
  ASSERT_TRUE((*cached)->Begin(family.space(), rows).ok());
  ASSERT_TRUE((*full)->Begin(family.space(), rows).ok());
  ScriptedDarkRoom room(rows, /*capacity=*/40);
  ASSERT_TRUE(room.Reset().ok());
  std::vector<int> seen_past;
  for (int step = 0; step < 45; ++step) {
    auto got = (*cached)->Logits(room.All());
    ASSERT_TRUE(got.ok()) << got.status();
    const int past = (*cached)->cached_past(0);
    seen_past.push_back(past);
    auto want = (*full)->FullLogits(room.All(), past);
    ASSERT_TRUE(want.ok()) << want.status();
    for (size_t i = 0; i < want->size(); ++i) {
      ASSERT_NEAR((*got)[i], (*want)[i], 1e-4) << "step " << step;
    }
    ASSERT_TRUE(room.Step(step).ok());
  }
  // Window 16: the context grows to 15 past transitions, restarts from the
  // last 7, grows again.
  EXPECT_EQ(seen_past[0], 0);
  EXPECT_EQ(seen_past[15], 15);
  EXPECT_EQ(seen_past[16], 7);
  EXPECT_EQ(seen_past[24], 15);
  EXPECT_EQ(seen_past[25], 7);
}

}  // namespace
}  // namespace ad::evaluator

namespace ad::evaluator {
namespace {

// The past transitions the header promises the chunk window shows at step
// `s` (s transitions held, one pushed per step from an empty context) for
// context length L: 0, 1, .., L, then floor(L / 2), .., L again.
std::vector<int> DocumentedChunkPast(int steps, int context_len) {
  std::vector<int> past(steps);
  for (int s = 1; s < steps; ++s) {
    past[s] = past[s - 1] == context_len ? context_len / 2 : past[s - 1] + 1;
  }
  return past;
}

// Both windows honour a context length L shorter than the model's window:
// at every step the chunk window's action distribution is that of a full
// forward over exactly the transitions the header documents (never more
// than L), which is the slide window's (last min(held, L)) whenever the
// two hold the same transitions; the slide window never sees more than L.
// (The chunk window once ignored L and grew to the model's window.)
TEST(ModelPolicyTest, ChunkAndSlideWindowsHoldTheSameContextLength) {
  const envs::EnvFamily& family = **envs::FindFamily("darkroom");
  const std::vector<RowSpec> rows = Rows(2, 2);
  // Buffer capacities: larger than L (the policy must truncate) and equal
  // to L (how the context sweep runs it).
  for (const auto& [context_len, capacity] :
       std::vector<std::pair<int, int>>{{5, 40}, {4, 4}, {9, 9}, {1, 40}}) {
    SCOPED_TRACE(absl::StrFormat("L=%d capacity=%d", context_len, capacity));
    ModelPolicy::Options options;
    options.threads = 1;
    options.max_past = context_len;
    options.window = "chunk";
    auto chunk = ModelPolicy::FromModel(TinyModel(16), options);
    options.window = "slide";
    auto slide = ModelPolicy::FromModel(TinyModel(16), options);
    // Full forwards over any number of past transitions up to the window.
    auto full = ModelPolicy::FromModel(TinyModel(16), ModelPolicy::Options());
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    ASSERT_TRUE(slide.ok()) << slide.status();
    ASSERT_TRUE(full.ok()) << full.status();
    for (auto* p : {&*chunk, &*slide, &*full}) {
      ASSERT_TRUE((**p).Begin(family.space(), rows).ok());
    }
    ScriptedDarkRoom room(rows, capacity);
    ASSERT_TRUE(room.Reset().ok());
    const int steps = 3 * 16;
    const std::vector<int> want_past = DocumentedChunkPast(steps, context_len);
    int same_as_slide = 0;
    for (int step = 0; step < steps; ++step) {
      auto got = (*chunk)->Logits(room.All());
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ((*chunk)->cached_past(0), want_past[step]) << "step " << step;
      auto want = (*full)->FullLogits(room.All(), want_past[step]);
      ASSERT_TRUE(want.ok()) << want.status();
      auto sliding = (*slide)->Logits(room.All());
      ASSERT_TRUE(sliding.ok()) << sliding.status();
      auto last_l = (*full)->FullLogits(room.All(), context_len);
      ASSERT_TRUE(last_l.ok()) << last_l.status();
      for (size_t i = 0; i < want->size(); ++i) {
        ASSERT_NEAR((*got)[i], (*want)[i], 1e-4) << "step " << step;
        ASSERT_NEAR((*sliding)[i], (*last_l)[i], 1e-4) << "step " << step;
      }
      if (want_past[step] == std::min(step, context_len)) {
        ++same_as_slide;
        for (size_t i = 0; i < want->size(); ++i) {
          ASSERT_NEAR((*got)[i], (*sliding)[i], 1e-4) << "step " << step;
        }
      }
      ASSERT_TRUE(room.Step(step).ok());
    }
    // The two windows coincide before the first restart and whenever the
    // chunk is full again.
    EXPECT_GE(same_as_slide, context_len + 1 + 2);
  }
}

}  // namespace
}  // namespace ad::evaluator
