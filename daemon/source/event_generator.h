// EventGenerator: the demo's live stream of SaaS events into Kafka.
#ifndef NSMD_DAEMON_SOURCE_EVENT_GENERATOR_H_
#define NSMD_DAEMON_SOURCE_EVENT_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "daemon/source/kafka_producer.h"

namespace nsmd {

// Produces SaasEventModel events to a topic on its own thread, at a steady
// rate. Event time runs `time_scale` times faster than the wall clock from
// the moment Start() is called, so a demo can watch weeks go by.
class EventGenerator {
 public:
  struct Options {
    std::string brokers;
    std::string topic;
    double events_per_second = 200;  // <= 0: as fast as possible
    int teams = 300;
    uint64_t seed = 42;
    double time_scale = 1;
  };

  static absl::StatusOr<std::unique_ptr<EventGenerator>> Create(Options options);
  ~EventGenerator();

  // Starts the producing thread.
  void Start();

  // Stops the thread and flushes what it produced. Idempotent.
  void Stop();

  // Events produced so far.
  uint64_t produced() const { return produced_.load(); }

 private:
  EventGenerator(Options options, std::unique_ptr<KafkaProducer> producer)
      : options_(std::move(options)), producer_(std::move(producer)) {}
  void Run();

  Options options_;
  std::unique_ptr<KafkaProducer> producer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> produced_{0};
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_EVENT_GENERATOR_H_
