#include "daemon/source/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace nsmd {

KafkaProducer::~KafkaProducer() {
  if (rk_ == nullptr) return;
  rd_kafka_flush(rk_, 5000);
  rd_kafka_destroy(rk_);
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    absl::string_view brokers, const std::map<std::string, std::string>& properties) {
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> all = {{"bootstrap.servers", std::string(brokers)},
                                            {"linger.ms", "5"},
                                            {"client.id", "nsmd"}};
  for (const auto& [name, value] : properties) all[name] = value;
  char err[512];
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot set producer property \"", name, "\": ",
                       absl::StrReplaceAll(err, {{value, "<redacted>"}})));
    }
  }
  rd_kafka_conf_set_opaque(conf, producer.get());
  rd_kafka_conf_set_dr_msg_cb(conf, DeliveryCallback);
  producer->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (producer->rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("cannot create Kafka producer: ", err));
  }
  return producer;
}

void KafkaProducer::DeliveryCallback(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* self = static_cast<KafkaProducer*>(opaque);
  ++self->failures_;
  absl::MutexLock lock(&self->mu_);
  self->last_error_ = rd_kafka_err2str(m->err);
}

absl::Status KafkaProducer::Produce(absl::string_view topic, absl::string_view key,
                                    absl::string_view payload) {
  return ProduceWithHeaders(topic, key, payload, {});
}

absl::Status KafkaProducer::ProduceWithHeaders(
    absl::string_view topic, absl::string_view key, absl::string_view payload,
    const std::vector<std::pair<std::string, std::string>>& headers) {
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
      rd_kafka_poll(rk_, 50);  // serve delivery reports to make room
      continue;
    }
    rd_kafka_poll(rk_, 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("cannot produce to ", topic_name, ": ", rd_kafka_err2str(err)));
    }
    return absl::OkStatus();
  }
}

absl::Status KafkaProducer::Flush(absl::Duration timeout) {
  rd_kafka_resp_err_t err =
      rd_kafka_flush(rk_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return absl::DeadlineExceededError(absl::StrCat(rd_kafka_outq_len(rk_),
                                                    " message(s) not yet delivered after ",
                                                    absl::FormatDuration(timeout)));
  }
  const int64_t failed = failures_.exchange(0);
  if (failed > 0) {
    absl::MutexLock lock(&mu_);
    return absl::UnavailableError(
        absl::StrCat(failed, " message(s) could not be delivered: ", last_error_));
  }
  return absl::OkStatus();
}

}  // namespace nsmd
