// ReplayLines: feeds a file of events, one JSON per line, to a Pipeline.
#ifndef NSMD_DAEMON_APP_LINE_REPLAY_H_
#define NSMD_DAEMON_APP_LINE_REPLAY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "daemon/app/pipeline.h"
#include "daemon/base/event_time.h"

namespace nsmd {

// Called before the first event stamped at or after `at`, with every event
// before it applied (the pipeline flushed), e.g. to read the engine's values
// at the end of a period. `reached` gets that event's time and returns the
// next time to be called at (EventTime(INT64_MAX): never); while that is
// still not after the event it is called again at once. An event older than
// an `at` already passed calls nothing.
struct EventTimeHook {
  EventTime at{INT64_MAX};
  std::function<EventTime(EventTime event_time)> reached;
};

// Feeds every non-empty line of `path` ("-" for stdin; gzip or plain text,
// told apart by zlib from the bytes) to the pipeline, checkpointing at
// `checkpoint_interval` like the daemon does. A line's number plays the role
// of its offset. Lines are decoded and applied a batch at a time
// (DecodedBatch, Pipeline::ProcessBatch: the path of `nsmd run`, decoding
// inline). `hook` may be null. Errors: NotFound if the file cannot be
// opened, DataLoss if reading fails (e.g. a truncated gzip stream), or the
// pipeline's checkpoint error.
absl::Status ReplayLines(const std::string& path, absl::Duration checkpoint_interval,
                         Pipeline* pipeline, EventTimeHook* hook = nullptr);

// Prints the counts of what happened to a replay's lines on stderr
// ("accepted N", "rejected N" and by reason, "late", "duplicate", the rate).
void PrintReplayCounts(const Pipeline::Counts& counts, absl::Duration elapsed);

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_LINE_REPLAY_H_
