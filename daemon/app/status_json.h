// JSON bodies of the HTTP API: /api/v1/status and /api/v1/metrics.
#ifndef NSMD_DAEMON_APP_STATUS_JSON_H_
#define NSMD_DAEMON_APP_STATUS_JSON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/app/pipeline.h"
#include "daemon/base/event_time.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/config/daemon_config.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"

namespace nsmd {

// An ISO-8601 UTC time with only as many fractional digits as needed
// ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z").
std::string IsoUtc(absl::Time t);

// The daemon's state for operators: broker address, consumer group, the
// assigned partitions with their checkpointed offsets, stream time, last
// checkpoint and event counts. Never includes kafka.properties (secrets).
std::string StatusJson(const DaemonConfig& config, const Pipeline& pipeline,
                       const std::vector<TopicPartitionId>& assignment, EventTime stream_time);

// Every metric's definition metadata (role, inputs, description, ...) and its
// current and previous values from `snapshot`.
std::string MetricsJson(const std::vector<MetricDefinition>& metrics,
                        const MetricsSnapshot& snapshot);

// Every window in `samples` as a JSON array of
// {"metric","labels","window_start","window_end","value"} (nsmd replay).
std::string SeriesJson(const std::vector<SeriesSample>& samples);

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_STATUS_JSON_H_
