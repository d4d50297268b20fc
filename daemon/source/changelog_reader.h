// ChangelogReader: reads a changelog partition from an offset to its end.
#ifndef NSMD_DAEMON_SOURCE_CHANGELOG_READER_H_
#define NSMD_DAEMON_SOURCE_CHANGELOG_READER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "daemon/base/topic_partition_id.h"
#include "daemon/state/changelog_record.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace nsmd {

// A librdkafka consumer outside any group (isolation.level=read_committed)
// that reads one partition at a time. Thread-compatible.
class ChangelogReader {
 public:
  // The partition's log start and high watermark.
  struct Watermarks {
    int64_t low = 0;
    int64_t high = 0;
  };

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ChangelogReader>> Create(
      const std::string& brokers, const std::map<std::string, std::string>& properties);
  ~ChangelogReader();
  ChangelogReader(const ChangelogReader&) = delete;
  ChangelogReader& operator=(const ChangelogReader&) = delete;

  // Unavailable if the cluster does not answer within `timeout`.
  [[nodiscard]] absl::StatusOr<Watermarks> QueryWatermarks(const TopicPartitionId& partition,
                                                           absl::Duration timeout);

  // Calls fn(record, offset) for every record of `partition` from `start`
  // to the end (the last stable offset: the high watermark when no
  // transaction is open), in order; stops at fn's first error. Returns the
  // number of records read. DeadlineExceeded if no record and no end arrive
  // for `stall_timeout`; OutOfRange if `start` is below the log start.
  [[nodiscard]] absl::StatusOr<uint64_t> Read(
      const TopicPartitionId& partition, int64_t start,
      const std::function<absl::Status(const ChangelogRecord&, int64_t)>& fn,
      absl::Duration stall_timeout = absl::Seconds(30));

 private:
  explicit ChangelogReader(rd_kafka_t* rk) : rk_(rk) {}
  rd_kafka_t* rk_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_CHANGELOG_READER_H_
