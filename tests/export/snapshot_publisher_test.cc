#include "daemon/export/snapshot_publisher.h"

#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace nsmd {
namespace {

// Definitions named "d<i>", one per metric, and a snapshot of stream time
// i: the pair published together as generation i.
std::shared_ptr<const std::vector<MetricDefinition>> Definitions(int i) {
  auto defs = std::make_shared<std::vector<MetricDefinition>>(1);
  (*defs)[0].name = absl::StrCat("d", i);
  return defs;
}
std::shared_ptr<const MetricsSnapshot> Snapshot(int i) {
  auto s = std::make_shared<MetricsSnapshot>();
  s->stream_time = EventTime(i);
  return s;
}

TEST(SnapshotPublisherTest, StartsEmptyAndNeverReturnsNull) {
  SnapshotPublisher p;
  PublishedMetrics m = p.published();
  ASSERT_NE(m.snapshot, nullptr);
  EXPECT_TRUE(m.snapshot->samples.empty());
  EXPECT_EQ(m.snapshot->stream_time, EventTime());
  ASSERT_NE(m.definitions, nullptr);
  EXPECT_TRUE(m.definitions->empty());

  p.Publish(nullptr, nullptr);
  m = p.published();
  ASSERT_NE(m.snapshot, nullptr);
  ASSERT_NE(m.definitions, nullptr);
}

TEST(SnapshotPublisherTest, ReadersKeepTheirPairWhileNewerOnesArePublished) {
  SnapshotPublisher p;
  p.Publish(Definitions(1), Snapshot(1));
  const PublishedMetrics held = p.published();
  p.Publish(Definitions(2), Snapshot(2));

  EXPECT_EQ(held.snapshot->stream_time, EventTime(1));
  EXPECT_EQ((*held.definitions)[0].name, "d1");
  const PublishedMetrics now = p.published();
  EXPECT_EQ(now.snapshot->stream_time, EventTime(2));
  EXPECT_EQ((*now.definitions)[0].name, "d2");
}

TEST(SnapshotPublisherTest, AReaderNeverPairsDefinitionsWithAnotherGenerationsSnapshot) {
  // Run under TSan/ASan to be meaningful: a writer publishes generations
  // 1..1000 while a reader reads; each read is one generation, whole, and
  // generations only go forward.
  SnapshotPublisher p;
  p.Publish(Definitions(0), Snapshot(0));
  std::thread writer([&p] {
    for (int i = 1; i <= 1000; ++i) p.Publish(Definitions(i), Snapshot(i));
  });
  int64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    const PublishedMetrics m = p.published();
    const int64_t now = m.snapshot->stream_time.millis();
    ASSERT_EQ((*m.definitions)[0].name, absl::StrCat("d", now));
    EXPECT_GE(now, last);
    EXPECT_LE(now, 1000);
    last = now;
  }
  writer.join();
  EXPECT_EQ(p.published().snapshot->stream_time, EventTime(1000));
}

}  // namespace
}  // namespace nsmd
