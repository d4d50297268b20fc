#include "daemon/source/event_generator.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "daemon/source/saas_event_model.h"

namespace nsmd {

absl::StatusOr<std::unique_ptr<EventGenerator>> EventGenerator::Create(Options options) {
  auto producer = KafkaProducer::Create(options.brokers, {});
  if (!producer.ok()) return producer.status();
  return std::unique_ptr<EventGenerator>(
      new EventGenerator(std::move(options), std::move(*producer)));
}

EventGenerator::~EventGenerator() { Stop(); }

void EventGenerator::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void EventGenerator::Stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
    producer_->Flush(absl::Seconds(5)).IgnoreError();
  }
}

void EventGenerator::Run() {
  const absl::Time start = absl::Now();
  SaasEventModel model(options_.teams, options_.seed, start);
  uint64_t n = 0;
  absl::Time last_error_log = absl::InfinitePast();
  while (!stop_) {
    const absl::Time now = absl::Now();
    const absl::Time event_time = start + (now - start) * options_.time_scale;
    SaasEventModel::GeneratedEvent e = model.Next(event_time);
    if (absl::Status s = producer_->Produce(options_.topic, e.key, e.json); !s.ok()) {
      if (now - last_error_log > absl::Seconds(10)) {
        std::fprintf(stderr, "nsmd: generator: %s\n", s.ToString().c_str());
        last_error_log = now;
      }
    }
    produced_ = ++n;
    if (options_.events_per_second > 0) {
      // Paced against the start, so the rate holds on average.
      const absl::Time due = start + absl::Seconds(static_cast<double>(n) /
                                                   options_.events_per_second);
      const absl::Duration wait = due - absl::Now();
      if (wait > absl::ZeroDuration()) absl::SleepFor(std::min(wait, absl::Milliseconds(100)));
    }
  }
}

}  // namespace nsmd
