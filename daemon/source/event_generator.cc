#include "daemon/source/event_generator.h"

#include <algorithm>
#include <cstdio>

#include "absl/time/clock.h"
#include "daemon/base/status_macros.h"
#include "daemon/source/saas_event_model.h"

namespace nsmd {

absl::StatusOr<std::unique_ptr<EventGenerator>> EventGenerator::Create(Options options) {
  ASSIGN_OR_RETURN(std::unique_ptr<KafkaProducer> producer,
                   KafkaProducer::Create(options.brokers, {}));
  return std::unique_ptr<EventGenerator>(
      new EventGenerator(std::move(options), std::move(producer)));
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

absl::Time EventGenerator::EventTimeAt(absl::Time now) const {
  return std::min(now, start_ - options_.history + (now - start_) * options_.time_scale);
}

void EventGenerator::Run() {
  SaasEventModel model(options_.teams, options_.seed, EventTimeAt(start_));
  uint64_t n = 0;
  absl::Time last_error_log = absl::InfinitePast();
  while (!stop_) {
    const absl::Time now = options_.clock();
    SaasEventModel::GeneratedEvent e = model.Next(EventTimeAt(now));
    if (absl::Status s = producer_->Produce(options_.topic, e.key, e.json); !s.ok()) {
      if (now - last_error_log > absl::Seconds(10)) {
        std::fprintf(stderr, "nsmd: generator: %s\n", s.ToString().c_str());
        last_error_log = now;
      }
    }
    produced_ = ++n;
    if (options_.events_per_second > 0) {
      // Paced against the start, so the rate holds on average.
      const absl::Time due =
          start_ + absl::Seconds(static_cast<double>(n) / options_.events_per_second);
      const absl::Duration wait = due - options_.clock();
      if (wait > absl::ZeroDuration()) absl::SleepFor(std::min(wait, absl::Milliseconds(100)));
    }
  }
}

}  // namespace nsmd
