// loadgen: produces realistic SaaS events (the demo generator's model) to a
// topic, keyed by user, at a given rate or as fast as possible.
//
//   loadgen --brokers HOST:PORT --topic T --events N [--rate R] [--teams 300] [--seed 42]
//           [--spacing-ms 50] [--progress FILE]
//   loadgen --output FILE.ndjson --events N [--keyed] ...
//       writes the same events, one per line; --keyed writes "key<TAB>json"
//       lines, for `kcat -P -K $'\t' -l FILE` (which sends full message sets)
//
// Event time starts at 2024-01-01T00:00Z and advances --spacing-ms per event,
// so a backlog spans realistic weeks. Prints the produced count and rate.
// --progress writes "unix_seconds events_queued events_delivered" lines to
// FILE every ~100 ms while producing (queued: handed to librdkafka, which
// sends them within its linger.ms of 20 ms; delivered: acknowledged by the
// broker), so a benchmark can tell how far behind a reader is.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "daemon/source/kafka_producer.h"
#include "daemon/source/saas_event_model.h"

namespace {

const char* Flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const char* brokers = Flag(argc, argv, "--brokers", nullptr);
  const std::string topic = Flag(argc, argv, "--topic", "product-events");
  const long long events = std::atoll(Flag(argc, argv, "--events", "0"));
  const double rate = std::atof(Flag(argc, argv, "--rate", "0"));  // 0: as fast as possible
  const int teams = std::atoi(Flag(argc, argv, "--teams", "300"));
  const unsigned long long seed = std::strtoull(Flag(argc, argv, "--seed", "42"), nullptr, 10);
  const int64_t spacing_ms = std::atoll(Flag(argc, argv, "--spacing-ms", "50"));
  const char* output = Flag(argc, argv, "--output", nullptr);
  const char* progress_path = Flag(argc, argv, "--progress", nullptr);
  bool keyed = false;
  for (int i = 1; i < argc; ++i) keyed = keyed || std::strcmp(argv[i], "--keyed") == 0;
  const absl::Time event_start =
      absl::FromCivil(absl::CivilSecond(2024, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  if (output != nullptr && events > 0) {
    std::FILE* out = std::fopen(output, "w");
    if (out == nullptr) return 1;
    nsmd::SaasEventModel model(teams, seed, event_start);
    for (long long i = 0; i < events; ++i) {
      const nsmd::SaasEventModel::GeneratedEvent e =
          model.Next(event_start + absl::Milliseconds(i * spacing_ms));
      if (keyed) {
        std::fwrite(e.key.data(), 1, e.key.size(), out);
        std::fputc('\t', out);
      }
      std::fwrite(e.json.data(), 1, e.json.size(), out);
      std::fputc('\n', out);
    }
    return std::fclose(out) == 0 ? 0 : 1;
  }
  if (brokers == nullptr || events <= 0) {
    std::fprintf(stderr, "usage: loadgen --brokers HOST:PORT --topic T --events N [--rate R]\n");
    return 2;
  }
  auto producer = nsmd::KafkaProducer::Create(brokers, {{"linger.ms", "20"},
                                                        {"batch.num.messages", "10000"},
                                                        {"queue.buffering.max.messages", "1000000"},
                                                        {"compression.type", "none"}});
  if (!producer.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", producer.status().ToString().c_str());
    return 1;
  }
  std::FILE* progress = progress_path != nullptr ? std::fopen(progress_path, "w") : nullptr;
  if (progress_path != nullptr && progress == nullptr) return 1;
  nsmd::SaasEventModel model(teams, seed, event_start);
  auto produce = [&](long long i) {
    nsmd::SaasEventModel::GeneratedEvent e =
        model.Next(event_start + absl::Milliseconds(i * spacing_ms));
    absl::Status s = (*producer)->Produce(topic, e.key, e.json);
    if (!s.ok()) std::fprintf(stderr, "loadgen: %s\n", s.ToString().c_str());
    return s.ok();
  };
  // A paced run delivers its first event before the clock starts, so that
  // connecting to the broker does not count as the producer falling behind.
  long long first = 0;
  if (rate > 0) {
    if (!produce(first++)) return 1;
    if (absl::Status s = (*producer)->Flush(absl::Seconds(30)); !s.ok()) {
      std::fprintf(stderr, "loadgen: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  const absl::Time start = absl::Now();
  absl::Time next_progress = start;
  for (long long i = first; i < events; ++i) {
    if (!produce(i)) return 1;
    if ((i & 255) == 255) {
      if (rate > 0) {
        absl::SleepFor(start + absl::Seconds(static_cast<double>(i + 1 - first) / rate) -
                       absl::Now());
      }
      if (progress != nullptr && absl::Now() >= next_progress) {
        std::fprintf(progress, "%.6f %lld %lld\n", absl::ToUnixMicros(absl::Now()) / 1e6, i + 1,
                     i + 1 - (*producer)->waiting());
        next_progress += absl::Milliseconds(100);
      }
    }
  }
  if (absl::Status s = (*producer)->Flush(absl::Minutes(5)); !s.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", s.ToString().c_str());
    return 1;
  }
  const absl::Time end = absl::Now();
  if (progress != nullptr) {
    std::fprintf(progress, "%.6f %lld %lld\n", absl::ToUnixMicros(end) / 1e6, events, events);
    std::fclose(progress);
  }
  const double seconds = absl::ToDoubleSeconds(end - start);
  std::printf("loadgen events=%lld seconds=%.3f rate=%.0f\n", events, seconds,
              static_cast<double>(events) / seconds);
  return 0;
}
