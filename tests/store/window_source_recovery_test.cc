// The learner's window source (services/learner/store_window_source.h)
// against a real ad-store process: a store that cannot serve the learner's
// filter (here: no matching history yet, so every SampleWindows call ends
// with NOT_FOUND) does not end training. The source reports each error (log
// and ad_learner_window_source_errors_total) and keeps retrying, and
// delivers windows as soon as the store can serve them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "services/learner/store_window_source.h"
#include "services/store/store_sink.h"
#include "services/store/store_test_util.h"
#include "tests/testing/subprocess.h"

namespace ad::services::learner {
namespace {

using ad::testing::PickFreePort;
using ad::testing::StartStore;

double ErrorCount(prometheus::Registry& registry, const std::string& code) {
  for (const auto& family : registry.Collect()) {
    if (family.name != "ad_learner_window_source_errors_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "code" && label.value == code) {
          return metric.counter.value;
        }
      }
    }
  }
  return 0;
}

TEST(WindowSourceRecoveryTest, StoreErrorsAreReportedAndRetriedNotFatal) {
  storage::testing::TempDir dir;
  const int port = PickFreePort();
  auto store =
      StartStore(dir.Sub("db"), port, dir.Sub("store.log"), {"--grace=0s"});
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string address = absl::StrCat("127.0.0.1:", port);

  prometheus::Registry registry;
  StoreWindowSource::Options options;
  options.client.address = address;
  options.request.window_len = 10;
  options.request.batch_size = 4;
  options.data.env = storage::testing::kSyntheticEnv;
  options.data.min_transitions = 0;  // the store answers NOT_FOUND at once
  options.backoff.initial = absl::Milliseconds(10);
  options.backoff.max_backoff = absl::Milliseconds(50);
  options.registry = &registry;
  auto source = StoreWindowSource::Create(options);
  ASSERT_TRUE(source.ok()) << source.status();

  std::optional<absl::StatusOr<ad::learner::Windows>> result;
  absl::Notification done;
  std::thread reader([&] {
    result.emplace((*source)->Next(absl::InfiniteFuture()));
    done.Notify();
  });
  // Wait for the condition (a few failed streams), not for a time.
  while ((*source)->errors() < 3 &&
         !done.WaitForNotificationWithTimeout(absl::Milliseconds(10))) {
  }
  ASSERT_FALSE(done.HasBeenNotified())
      << "Next() returned early: " << result->status();
  EXPECT_GE(ErrorCount(registry, "NOT_FOUND"), 3);

  // Data arrives; the same Next() call delivers it.
  store::StoreSink::Options sink_options;
  sink_options.address = address;
  auto sink = std::move(store::StoreSink::Create(sink_options)).value();
  ASSERT_TRUE(sink->Append(store::testing::WireMeta("h"),
                           store::testing::WireChunk(1, 0, 0, 50), true)
                  .ok());
  ASSERT_TRUE(sink->Flush(absl::Seconds(10)).ok());
  reader.join();
  ASSERT_TRUE(result->ok()) << result->status();
  EXPECT_EQ((*result)->batch_size, 4);
  EXPECT_EQ((*result)->history_ids[0], "h");

  // Cancel() is the one way to end Next() with an error.
  (*source)->Cancel();
  EXPECT_EQ((*source)->Next(absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace ad::services::learner
