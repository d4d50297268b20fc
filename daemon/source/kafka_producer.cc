#include "daemon/source/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_secrets.h"

namespace nsmd {

KafkaProducer::~KafkaProducer() {
  if (rk_ == nullptr) return;
  rd_kafka_flush(rk_, 5000);
  rd_kafka_destroy(rk_);
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    absl::string_view brokers, const std::map<std::string, std::string>& properties) {
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer(properties));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> all = {
      {"bootstrap.servers", std::string(brokers)}, {"linger.ms", "5"}, {"client.id", "nsmd"}};
  for (const auto& [name, value] : properties) all[name] = value;
  char err[512];
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // The refused value is blanked whatever the property: it may be a
      // secret under a misspelt name.
      std::string message =
          value.empty() ? std::string(err) : absl::StrReplaceAll(err, {{value, "<redacted>"}});
      return absl::InvalidArgumentError(
          absl::StrCat("cannot set producer property \"", name,
                       "\": ", RedactKafkaSecrets(message, properties)));
    }
  }
  rd_kafka_conf_set_opaque(conf, producer.get());
  rd_kafka_conf_set_dr_msg_cb(conf, DeliveryCallback);
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  producer->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (producer->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka producer: ", RedactKafkaSecrets(err, properties)));
  }
  return producer;
}

void KafkaProducer::LogCallback(const rd_kafka_t* rk, int level, const char* facility,
                                const char* message) {
  // As the consumer's: librdkafka may quote a secret (e.g. "Unrecognized
  // sasl.oauthbearer.config beginning at: ...").
  std::string text = message;
  if (auto* self = static_cast<KafkaProducer*>(rd_kafka_opaque(rk)); self != nullptr) {
    text = RedactKafkaSecrets(text, self->secrets_);
  }
  std::fprintf(stderr, "nsmd: kafka producer: librdkafka %s (level %d): %s\n", facility, level,
               text.c_str());
}

void KafkaProducer::DeliveryCallback(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<KafkaProducer*>(opaque);
  // librdkafka still holds the copied key, payload and headers here: keep a
  // copy to produce again at the next Flush().
  Record r;
  r.topic = rd_kafka_topic_name(m->rkt);
  if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload != nullptr) r.payload.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.emplace_back(name, value == nullptr
                                       ? std::string()
                                       : std::string(static_cast<const char*>(value), size));
    }
  }
  self->Keep(std::move(r), rd_kafka_err2str(m->err));
}

void KafkaProducer::Keep(Record record, std::string error) {
  absl::MutexLock lock(&mu_);
  kept_.push_back(std::move(record));
  last_error_ = std::move(error);
}

int KafkaProducer::waiting() const { return rd_kafka_outq_len(rk_); }

size_t KafkaProducer::kept() const {
  absl::MutexLock lock(&mu_);
  return kept_.size();
}

absl::Status KafkaProducer::Produce(absl::string_view topic, absl::string_view key,
                                    absl::string_view payload) {
  return ProduceWithHeaders(topic, key, payload, {});
}

absl::Status KafkaProducer::Enqueue(absl::string_view topic, absl::string_view key,
                                    absl::string_view payload,
                                    const std::vector<std::pair<std::string, std::string>>& headers,
                                    absl::Time deadline) {
  const std::string topic_name(topic);
  while (true) {
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [name, value] : headers) {
        rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
      }
    }
    rd_kafka_resp_err_t err;
    if (hdrs != nullptr) {
      err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic_name.c_str()),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(hdrs);
    } else {
      err = rd_kafka_producev(
          rk_, RD_KAFKA_V_TOPIC(topic_name.c_str()),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      const absl::Duration left = deadline - absl::Now();
      if (left > absl::ZeroDuration()) {
        // Serve delivery reports to make room, then try again.
        rd_kafka_poll(
            rk_, static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(left), 1, 50)));
        continue;
      }
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot produce to ", topic_name, ": the producer queue stayed full (",
                       rd_kafka_outq_len(rk_), " message(s) waiting for the broker)"));
    }
    rd_kafka_poll(rk_, 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("cannot produce to ", topic_name, ": ", rd_kafka_err2str(err)));
    }
    return absl::OkStatus();
  }
}

absl::Status KafkaProducer::ProduceWithHeaders(
    absl::string_view topic, absl::string_view key, absl::string_view payload,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  absl::Status s = Enqueue(topic, key, payload, headers, absl::Now() + kQueueFullWait);
  if (s.ok()) return s;
  Keep(Record{std::string(topic), std::string(key), std::string(payload), headers},
       std::string(s.message()));
  return absl::Status(s.code(),
                      absl::StrCat(s.message(), "; kept to produce again at the next flush"));
}

absl::Status KafkaProducer::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<Record> retry;
  {
    absl::MutexLock lock(&mu_);
    retry.swap(kept_);
  }
  for (size_t i = 0; i < retry.size(); ++i) {
    const Record& r = retry[i];
    absl::Status s = Enqueue(r.topic, r.key, r.payload, r.headers, deadline);
    if (s.ok()) continue;
    // Keep this one and every one not yet tried, for the next Flush().
    absl::MutexLock lock(&mu_);
    for (size_t j = i; j < retry.size(); ++j) kept_.push_back(std::move(retry[j]));
    last_error_ = std::string(s.message());
    break;
  }
  const int64_t wait_ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  rd_kafka_resp_err_t err =
      rd_kafka_flush(rk_, static_cast<int>(std::min<int64_t>(wait_ms, 1 << 30)));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return absl::DeadlineExceededError(absl::StrCat(rd_kafka_outq_len(rk_),
                                                    " message(s) not yet delivered after ",
                                                    absl::FormatDuration(timeout)));
  }
  absl::MutexLock lock(&mu_);
  if (!kept_.empty()) {
    return absl::UnavailableError(absl::StrCat(
        kept_.size(), " message(s) not delivered yet (kept for the next flush): ", last_error_));
  }
  return absl::OkStatus();
}

}  // namespace nsmd
