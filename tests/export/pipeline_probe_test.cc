#include "daemon/export/pipeline_probe.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace nsmd {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class PipelineProbeTest : public ::testing::Test {
 protected:
  std::vector<std::string> Scrape() {
    return absl::StrSplit(prometheus::TextSerializer().Serialize(probe_.registry()->Collect()),
                          '\n', absl::SkipEmpty());
  }

  // 1700000000.25 s: a quarter second makes the fractional part visible.
  absl::Time now_ = absl::FromUnixMillis(1700000000250);
  PipelineProbe probe_{[this] { return now_; }};
};

TEST_F(PipelineProbeTest, InitialValues) {
  const auto lines = Scrape();
  EXPECT_THAT(lines, Contains("nsmd_events_consumed_total 0"));
  EXPECT_THAT(lines, Contains("nsmd_events_applied_total 0"));
  EXPECT_THAT(lines, Contains("# TYPE nsmd_events_applied_total counter"));
  // Every reason exists at 0 before the first rejection.
  for (RejectReason r : kAllRejectReasons) {
    EXPECT_THAT(lines, Contains(absl::StrCat("nsmd_events_rejected_total{reason=\"",
                                             RejectReasonName(r), "\"} 0")));
  }
  EXPECT_THAT(lines, Contains(absl::StrCat("nsmd_build_info{version=\"", NSMD_VERSION, "\"} 1")));
  EXPECT_THAT(lines, Contains("nsmd_config_last_reload_successful 1"));
  EXPECT_THAT(lines, Contains("nsmd_config_last_reload_success_timestamp_seconds 1700000000.25"));
  EXPECT_THAT(lines, Contains("nsmd_ready 0"));
  EXPECT_THAT(lines, Contains("nsmd_last_checkpoint_timestamp_seconds 0"));
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_duration_seconds_count 0"));
  // No partitions assigned yet: the family has no series.
  EXPECT_THAT(lines, Not(Contains(HasSubstr("nsmd_consumer_lag{"))));
}

TEST_F(PipelineProbeTest, EventCounters) {
  probe_.OnConsumed(2);
  probe_.OnConsumed(3);  // 2 + 3 = 5
  probe_.OnApplied();
  probe_.OnApplied();
  probe_.OnLate();
  probe_.OnDuplicate();
  probe_.OnDuplicate();
  probe_.OnDuplicate();
  probe_.OnDeadLettered();
  probe_.OnRejected(RejectReason::kInvalidJson);
  probe_.OnRejected(RejectReason::kInvalidJson);
  probe_.OnRejected(RejectReason::kBadId);
  const auto lines = Scrape();
  EXPECT_THAT(lines, Contains("nsmd_events_consumed_total 5"));
  EXPECT_THAT(lines, Contains("nsmd_events_applied_total 2"));
  EXPECT_THAT(lines, Contains("nsmd_events_late_total 1"));
  EXPECT_THAT(lines, Contains("nsmd_events_duplicate_total 3"));
  EXPECT_THAT(lines, Contains("nsmd_events_dead_lettered_total 1"));
  EXPECT_THAT(lines, Contains(R"(nsmd_events_rejected_total{reason="invalid_json"} 2)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_events_rejected_total{reason="bad_id"} 1)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_events_rejected_total{reason="oversized"} 0)"));
}

TEST_F(PipelineProbeTest, CheckpointMetrics) {
  now_ += absl::Seconds(10);  // 1700000010.25
  probe_.OnCheckpoint(absl::Milliseconds(3), 42);
  probe_.OnCheckpointFailure();
  const auto lines = Scrape();
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_keys 42"));
  EXPECT_THAT(lines, Contains("nsmd_last_checkpoint_timestamp_seconds 1700000010.25"));
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_failures_total 1"));
  // 0.003 s falls in the buckets from le=0.005 upwards.
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_duration_seconds_count 1"));
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_duration_seconds_sum 0.003"));
  EXPECT_THAT(lines, Contains(R"(nsmd_checkpoint_duration_seconds_bucket{le="0.001"} 0)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_checkpoint_duration_seconds_bucket{le="0.0025"} 0)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_checkpoint_duration_seconds_bucket{le="0.005"} 1)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_checkpoint_duration_seconds_bucket{le="2.5"} 1)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_checkpoint_duration_seconds_bucket{le="+Inf"} 1)"));

  // A failure leaves the last success's gauges alone.
  now_ += absl::Seconds(10);
  probe_.OnCheckpointFailure();
  const auto after = Scrape();
  EXPECT_THAT(after, Contains("nsmd_checkpoint_failures_total 2"));
  EXPECT_THAT(after, Contains("nsmd_last_checkpoint_timestamp_seconds 1700000010.25"));
  EXPECT_THAT(after, Contains("nsmd_checkpoint_keys 42"));
}

TEST_F(PipelineProbeTest, CheckpointWithNothingToWriteStillCounts) {
  now_ += absl::Seconds(10);  // 1700000010.25
  probe_.OnCheckpoint(absl::Milliseconds(3), 42);
  // An idle second later the checkpoint finds nothing to write: it succeeded,
  // wrote 0 keys, and is not a sample of the write duration.
  now_ += absl::Seconds(1);  // 1700000011.25
  probe_.OnCheckpointUnchanged();
  const auto lines = Scrape();
  EXPECT_THAT(lines, Contains("nsmd_last_checkpoint_timestamp_seconds 1700000011.25"));
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_keys 0"));
  EXPECT_THAT(lines, Contains("nsmd_checkpoint_duration_seconds_count 1"));
}

TEST_F(PipelineProbeTest, LateCounterHelpSaysWhatLateMeans) {
  EXPECT_THAT(Scrape(), Contains("# HELP nsmd_events_late_total Events older than stream time "
                                 "minus allowed lateness, not applied."));
}

TEST_F(PipelineProbeTest, StreamTimeReloadAndReadiness) {
  probe_.SetStreamTime(EventTime(1704067200123));  // ms -> 1704067200.123 s
  probe_.SetReady(true);
  now_ += absl::Seconds(1);  // 1700000001.25
  probe_.OnReload(false);
  auto lines = Scrape();
  EXPECT_THAT(lines, Contains("nsmd_stream_time_seconds 1704067200.123"));
  EXPECT_THAT(lines, Contains("nsmd_ready 1"));
  EXPECT_THAT(lines, Contains("nsmd_config_last_reload_successful 0"));
  // A failed reload keeps the time of the last success (construction).
  EXPECT_THAT(lines, Contains("nsmd_config_last_reload_success_timestamp_seconds 1700000000.25"));

  probe_.OnReload(true);
  probe_.SetReady(false);
  lines = Scrape();
  EXPECT_THAT(lines, Contains("nsmd_config_last_reload_successful 1"));
  EXPECT_THAT(lines, Contains("nsmd_config_last_reload_success_timestamp_seconds 1700000001.25"));
  EXPECT_THAT(lines, Contains("nsmd_ready 0"));
}

TEST_F(PipelineProbeTest, LagSeriesFollowTheAssignment) {
  probe_.SetLag({{{"events", PartitionId(0)}, 10}, {{"events", PartitionId(1)}, 20}});
  auto lines = Scrape();
  // prometheus-cpp orders a series' labels by name: partition before topic.
  EXPECT_THAT(lines, Contains(R"(nsmd_consumer_lag{partition="0",topic="events"} 10)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_consumer_lag{partition="1",topic="events"} 20)"));

  // Partition 0 revoked, partition 1 updated, another topic assigned.
  probe_.SetLag({{{"events", PartitionId(1)}, 5}, {{"other", PartitionId(0)}, 0}});
  lines = Scrape();
  EXPECT_THAT(lines,
              Not(Contains(HasSubstr(R"(nsmd_consumer_lag{partition="0",topic="events"})"))));
  EXPECT_THAT(lines, Contains(R"(nsmd_consumer_lag{partition="1",topic="events"} 5)"));
  EXPECT_THAT(lines, Contains(R"(nsmd_consumer_lag{partition="0",topic="other"} 0)"));

  probe_.SetLag({});
  lines = Scrape();
  EXPECT_THAT(lines, Not(Contains(HasSubstr("nsmd_consumer_lag{"))));
}

}  // namespace
}  // namespace nsmd
