// KafkaProducer: writes messages to Kafka (dead letters, demo and load
// generators, tests).
#ifndef NSMD_DAEMON_SOURCE_KAFKA_PRODUCER_H_
#define NSMD_DAEMON_SOURCE_KAFKA_PRODUCER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

namespace nsmd {

// A librdkafka producer. Produce() copies the message and returns at once
// (waiting only while librdkafka's queue is full); Flush() waits for every
// delivery and reports failures since the previous Flush(). Thread-safe, as
// librdkafka's producer is.
class KafkaProducer {
 public:
  // `properties` are passed verbatim to librdkafka after nsmd's defaults.
  // InvalidArgument names a refused property (without its value).
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(
      absl::string_view brokers, const std::map<std::string, std::string>& properties);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues `payload` with `key` (empty: no key) for `topic`.
  absl::Status Produce(absl::string_view topic, absl::string_view key, absl::string_view payload);

  // The same with message headers (name, value).
  absl::Status ProduceWithHeaders(absl::string_view topic, absl::string_view key,
                                  absl::string_view payload,
                                  const std::vector<std::pair<std::string, std::string>>& headers);

  // Waits up to `timeout` until every queued message is delivered.
  // DeadlineExceeded if some are still queued; Unavailable if deliveries
  // failed since the last Flush() (the count and the last error).
  absl::Status Flush(absl::Duration timeout);

 private:
  KafkaProducer() = default;
  static void DeliveryCallback(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);

  rd_kafka_t* rk_ = nullptr;
  std::atomic<int64_t> failures_{0};
  absl::Mutex mu_;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_KAFKA_PRODUCER_H_
