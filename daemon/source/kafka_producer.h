// KafkaProducer: writes messages to Kafka (dead letters, demo and load
// generators, tests).
#ifndef NSMD_DAEMON_SOURCE_KAFKA_PRODUCER_H_
#define NSMD_DAEMON_SOURCE_KAFKA_PRODUCER_H_

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

// A librdkafka producer that never silently drops a message. Produce()
// copies the message and returns at once (waiting a bounded time while
// librdkafka's queue is full). A message whose delivery fails, or that could
// not be queued, is kept (topic, key, payload, headers) and produced again by
// the next Flush(); Flush() reports an error until every message ever
// produced has been delivered, so a caller that stores its progress only
// after an OK Flush() (dead letters before offsets) loses nothing. Messages
// still kept when the producer is destroyed are lost. librdkafka's log lines
// and errors have the values of secret properties redacted (see
// kafka_secrets.h). Thread-safe, as librdkafka's producer is.
class KafkaProducer {
 public:
  // How long Produce() waits for room in a full librdkafka queue.
  static constexpr absl::Duration kQueueFullWait = absl::Seconds(1);

  // `properties` are passed verbatim to librdkafka after nsmd's defaults.
  // InvalidArgument names a refused property (without its value), or says
  // why the client could not be created (secrets redacted).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(
      absl::string_view brokers, const std::map<std::string, std::string>& properties);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues `payload` with `key` (empty: no key) for `topic`.
  [[nodiscard]] absl::Status Produce(absl::string_view topic, absl::string_view key,
                                     absl::string_view payload);

  // The same with message headers (name, value). OK once librdkafka has
  // queued the message. If it cannot be queued (ResourceExhausted: the queue
  // stayed full for kQueueFullWait; Unavailable: another librdkafka error)
  // the message is kept and the next Flush() produces it again; the error
  // says so.
  [[nodiscard]] absl::Status ProduceWithHeaders(
      absl::string_view topic, absl::string_view key, absl::string_view payload,
      const std::vector<std::pair<std::string, std::string>>& headers);

  // Produces every kept message again, then waits up to `timeout` until
  // every queued message is delivered. OK only if nothing is kept and
  // nothing is queued; DeadlineExceeded if some are still queued;
  // Unavailable if some could not be delivered (they are kept for the next
  // Flush(); the message gives their count and the last error).
  [[nodiscard]] absl::Status Flush(absl::Duration timeout);

  // Messages kept for the next Flush() (failed deliveries and messages that
  // could not be queued).
  size_t kept() const;

  // Messages queued and not yet acknowledged by the broker (librdkafka's
  // rd_kafka_outq_len: also counts delivery reports not served yet, which
  // Produce() serves after each message).
  int waiting() const;

 private:
  struct Record {
    std::string topic;
    std::string key;
    std::string payload;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  explicit KafkaProducer(std::map<std::string, std::string> secrets)
      : secrets_(std::move(secrets)) {}
  static void DeliveryCallback(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  static void LogCallback(const rd_kafka_t* rk, int level, const char* facility,
                          const char* message);
  // Queues one record, waiting for queue room until `deadline`; the error
  // is the librdkafka one (nothing kept).
  [[nodiscard]] absl::Status Enqueue(
      absl::string_view topic, absl::string_view key, absl::string_view payload,
      const std::vector<std::pair<std::string, std::string>>& headers, absl::Time deadline);
  void Keep(Record record, std::string error);

  // The configured properties that are secrets (for redaction).
  const std::map<std::string, std::string> secrets_;
  rd_kafka_t* rk_ = nullptr;
  mutable absl::Mutex mu_;
  std::vector<Record> kept_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_KAFKA_PRODUCER_H_
