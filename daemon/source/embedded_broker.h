// EmbeddedBroker: librdkafka's mock Kafka cluster, in this process.
#ifndef NSMD_DAEMON_SOURCE_EMBEDDED_BROKER_H_
#define NSMD_DAEMON_SOURCE_EMBEDDED_BROKER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace nsmd {

// A Kafka-protocol broker (librdkafka's mock cluster) listening on an
// ephemeral 127.0.0.1 port, for demos, tests and benchmarks. It keeps
// messages in memory, at most 5 MiB per partition (older ones are dropped:
// size topics for the data, see README). Thread-safe.
class EmbeddedBroker {
 public:
  // Starts a cluster of `brokers` brokers.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EmbeddedBroker>> Start(int brokers = 1);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // Creates `topic` with `partitions` partitions (replication factor 1).
  [[nodiscard]] absl::Status CreateTopic(absl::string_view topic, int partitions);

  // "127.0.0.1:PORT[,...]": what clients put in bootstrap.servers.
  std::string bootstrap_servers() const;

  // Takes every broker down (connections closed and refused) or back up,
  // keeping the data: to rehearse outages.
  [[nodiscard]] absl::Status SetDown(bool down);

 private:
  EmbeddedBroker(rd_kafka_t* rk, rd_kafka_mock_cluster_t* cluster, int brokers)
      : rk_(rk), cluster_(cluster), brokers_(brokers) {}
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_EMBEDDED_BROKER_H_
