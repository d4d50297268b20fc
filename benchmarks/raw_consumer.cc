// raw_consumer: the ceiling. A minimal librdkafka high-level consumer that
// only counts messages, timed from its first message to its last, so the
// consumer-group join does not count. nsmd's rate is reported as a ratio of
// this one's on the same backlog in the same run.
//
//   raw_consumer --brokers HOST:PORT --topic T --group G --expect N [--timeout-s 300]
//                [--work-ns NS] [-X property=value ...]
//
// --work-ns spins NS nanoseconds per message (a stand-in for an
// application's processing, to see how the fetcher behaves behind a slower
// consumer); -X passes a librdkafka property, as kcat does.
//
// Prints one line: "raw_consumer messages=N bytes=B seconds=S rate=R".
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace {

const char* Flag(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

bool Set(rd_kafka_conf_t* conf, const char* key, const char* value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "raw_consumer: %s\n", err);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* brokers = Flag(argc, argv, "--brokers", nullptr);
  const char* topic = Flag(argc, argv, "--topic", "product-events");
  const char* group = Flag(argc, argv, "--group", "raw-consumer");
  const long long expect = std::atoll(Flag(argc, argv, "--expect", "0"));
  const double timeout_s = std::atof(Flag(argc, argv, "--timeout-s", "300"));
  const absl::Duration work = absl::Nanoseconds(std::atoll(Flag(argc, argv, "--work-ns", "0")));
  if (brokers == nullptr || expect <= 0) {
    std::fprintf(stderr,
                 "usage: raw_consumer --brokers HOST:PORT --topic T --group G --expect N\n");
    return 2;
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!Set(conf, "bootstrap.servers", brokers) || !Set(conf, "group.id", group) ||
      !Set(conf, "auto.offset.reset", "earliest") || !Set(conf, "enable.auto.commit", "false") ||
      !Set(conf, "session.timeout.ms", "6000")) {
    return 1;
  }
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "-X") != 0) continue;
    const std::string kv = argv[i + 1];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos ||
        !Set(conf, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str())) {
      return 2;
    }
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "raw_consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);

  long long messages = 0, bytes = 0;
  absl::Time first = absl::InfinitePast(), last = absl::InfinitePast();
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  while (messages < expect && absl::Now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (messages == 0) first = absl::Now();
      ++messages;
      bytes += static_cast<long long>(m->len);
      if (work > absl::ZeroDuration()) {
        const absl::Time until = absl::Now() + work;
        while (absl::Now() < until) {
        }
      }
      last = absl::Now();
    }
    rd_kafka_message_destroy(m);
  }
  const double seconds = absl::ToDoubleSeconds(last - first);
  std::printf("raw_consumer messages=%lld bytes=%lld seconds=%.3f rate=%.0f\n", messages, bytes,
              seconds, seconds > 0 ? static_cast<double>(messages) / seconds : 0.0);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return messages == expect ? 0 : 1;
}
