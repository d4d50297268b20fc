#include "daemon/export/snapshot_publisher.h"

#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace nsmd {
namespace {

TEST(SnapshotPublisherTest, StartsEmptyAndNeverReturnsNull) {
  SnapshotPublisher p;
  ASSERT_NE(p.snapshot(), nullptr);
  EXPECT_TRUE(p.snapshot()->samples.empty());
  EXPECT_EQ(p.snapshot()->stream_time_ms, 0);
  ASSERT_NE(p.definitions(), nullptr);
  EXPECT_TRUE(p.definitions()->empty());

  p.Publish(nullptr);
  p.SetDefinitions(nullptr);
  ASSERT_NE(p.snapshot(), nullptr);
  ASSERT_NE(p.definitions(), nullptr);
}

TEST(SnapshotPublisherTest, ReadersKeepTheirSnapshotWhileNewerOnesArePublished) {
  SnapshotPublisher p;
  auto first = std::make_shared<MetricsSnapshot>();
  first->stream_time_ms = 1;
  p.Publish(first);
  std::shared_ptr<const MetricsSnapshot> held = p.snapshot();

  auto second = std::make_shared<MetricsSnapshot>();
  second->stream_time_ms = 2;
  p.Publish(second);

  EXPECT_EQ(held->stream_time_ms, 1);
  EXPECT_EQ(p.snapshot()->stream_time_ms, 2);

  auto defs = std::make_shared<std::vector<MetricDefinition>>(1);
  (*defs)[0].name = "wau";
  p.SetDefinitions(defs);
  ASSERT_EQ(p.definitions()->size(), 1u);
  EXPECT_EQ((*p.definitions())[0].name, "wau");
}

TEST(SnapshotPublisherTest, ConcurrentPublishAndRead) {
  // Run under TSan/ASan to be meaningful: a writer and a reader race; the
  // reader must always see one of the published values, 0 (initial) .. 1000.
  SnapshotPublisher p;
  std::thread writer([&p] {
    for (int i = 1; i <= 1000; ++i) {
      auto s = std::make_shared<MetricsSnapshot>();
      s->stream_time_ms = i;
      p.Publish(s);
    }
  });
  int64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t now = p.snapshot()->stream_time_ms;
    EXPECT_GE(now, last);  // published in increasing order
    EXPECT_LE(now, 1000);
    last = now;
  }
  writer.join();
  EXPECT_EQ(p.snapshot()->stream_time_ms, 1000);
}

}  // namespace
}  // namespace nsmd
