// EventGenerator: the demo's live stream of SaaS events into Kafka.
#ifndef NSMD_DAEMON_SOURCE_EVENT_GENERATOR_H_
#define NSMD_DAEMON_SOURCE_EVENT_GENERATOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/source/kafka_producer.h"

namespace nsmd {

// Produces SaasEventModel events to a topic on its own thread, at a steady
// rate. Event time starts `history` before the wall clock at Create() and
// runs `time_scale` times faster than the wall clock until it has caught up
// with it; from then on it is the wall clock. It is never ahead of the wall
// clock, so an event stamped "now" by hand (kcat) is never late, and once
// caught up neither are the generator's own events after it.
class EventGenerator {
 public:
  struct Options {
    std::string brokers;
    std::string topic;
    double events_per_second = 200;  // <= 0: as fast as possible
    int teams = 300;
    uint64_t seed = 42;
    double time_scale = 1;                          // > 0
    absl::Duration history = absl::ZeroDuration();  // >= 0
    // The wall clock (event times and pacing); tests inject a fake one.
    std::function<absl::Time()> clock = [] { return absl::Now(); };
  };

  // Creates the producer for `options.brokers` and reads the clock once: that
  // reading is the start of the event clock (see EventTimeAt). Errors are
  // the producer's (InvalidArgument for a bad broker list).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EventGenerator>> Create(Options options);
  ~EventGenerator();

  // The event time stamped on an event generated at wall time `now` (with
  // `start` the clock reading at Create(), H the history, s the time scale):
  // min(now, start - H + (now - start) * s). With s > 1 it reaches the wall
  // clock at start + H / (s - 1) and follows it from then on; with H = 0 it
  // is `now`. Non-decreasing in `now`.
  absl::Time EventTimeAt(absl::Time now) const;

  // Starts the producing thread.
  void Start();

  // Stops the thread and flushes what it produced. Idempotent.
  void Stop();

  // Events produced so far.
  uint64_t produced() const { return produced_.load(); }

 private:
  EventGenerator(Options options, std::unique_ptr<KafkaProducer> producer)
      : options_(std::move(options)), start_(options_.clock()), producer_(std::move(producer)) {}
  void Run();

  const Options options_;
  const absl::Time start_;
  std::unique_ptr<KafkaProducer> producer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> produced_{0};
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_EVENT_GENERATOR_H_
