#include "daemon/source/embedded_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

// librdkafka's log lines of the handle that hosts the mock cluster. That
// handle is never used as a client, so it has no bootstrap.servers on purpose
// and librdkafka's warning about that (CONFWARN "No `bootstrap.servers`
// configured") is dropped; anything else is printed with nsmd's prefix.
void LogCallback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  if (std::strcmp(facility, "CONFWARN") == 0 &&
      std::strstr(message, "bootstrap.servers") != nullptr) {
    return;
  }
  std::fprintf(stderr, "nsmd: embedded broker: librdkafka %s (level %d): %s\n", facility, level,
               message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(int brokers) {
  if (brokers < 1) return absl::InvalidArgumentError("an embedded cluster needs a broker");
  // The mock cluster lives on a (never used) client handle of its own.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("cannot start the embedded broker: ", err));
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(rk);
    return absl::InternalError("cannot start the embedded broker (mock cluster)");
  }
  return std::unique_ptr<EmbeddedBroker>(new EmbeddedBroker(rk, cluster, brokers));
}

EmbeddedBroker::~EmbeddedBroker() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(rk_);
}

absl::Status EmbeddedBroker::CreateTopic(absl::string_view topic, int partitions) {
  if (partitions < 1) return absl::InvalidArgumentError("a topic needs at least one partition");
  const std::string name(topic);
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(
        absl::StrCat("cannot create topic ", name, ": ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

std::string EmbeddedBroker::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

absl::Status EmbeddedBroker::SetDown(bool down) {
  for (int id = 1; id <= brokers_; ++id) {
    rd_kafka_resp_err_t err = down ? rd_kafka_mock_broker_set_down(cluster_, id)
                                   : rd_kafka_mock_broker_set_up(cluster_, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(absl::StrCat("cannot set broker ", id,
                                              down ? " down: " : " up: ", rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

}  // namespace nsmd
