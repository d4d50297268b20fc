// DaemonConfig: everything nsmd reads from its YAML file.
#ifndef NSMD_DAEMON_CONFIG_DAEMON_CONFIG_H_
#define NSMD_DAEMON_CONFIG_DAEMON_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/base/partition_assignment.h"
#include "daemon/config/alert_spec.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// kafka.rekey. kAuto: on when key_field is set (the producers' key is
// known), the assignment is a consumer group and the changelog is not off.
enum class RekeyMode { kAuto, kOn, kOff };

struct KafkaConfig {
  // "host:port,..." or "embedded" (librdkafka's mock cluster, in-process).
  std::string brokers = "localhost:9092";
  std::vector<std::string> topics = {"product-events"};
  std::string group_id = "nsmd";
  // Passed verbatim to librdkafka (security.protocol, sasl.*, ssl.*, fetch.*).
  std::map<std::string, std::string> properties;
  // Where a partition with no checkpointed offset starts: earliest | latest.
  std::string start_offset = "earliest";
  // Which partitions this instance reads: "group" (those the consumer group
  // assigns it) or "all" (every partition of `topics`, assigned by nsmd
  // itself without joining the group: no rebalance delay on start, one
  // instance per topic set).
  PartitionAssignment assignment = PartitionAssignment::kGroup;
  int embedded_partitions = 8;          // embedded broker only
  int64_t max_message_bytes = 1 << 20;  // larger messages are rejected
  std::string dead_letter_topic;        // empty: none
  // The event field the producers key messages by (e.g. "userId"): every
  // event of one value of it is in one partition. Empty: unknown. Decides
  // which metrics one task per partition can compute (KeyPartitioning).
  std::string key_field;
  // Re-keying (kafka.rekey): metrics that key_field does not partition get
  // their events through a repartition topic per field,
  // "<group_id>-rekey-<field>", so the config still runs one task per
  // partition and instances in one group add up (TaskLayoutOf).
  RekeyMode rekey = RekeyMode::kAuto;
  // Partitions of a repartition topic nsmd creates; 0: as many as the
  // first of `topics`.
  int rekey_partitions = 0;
  // group.instance.id (static membership): a restart within
  // session.timeout.ms keeps this instance's partitions, moving nothing.
  // "" (the default): "<host name>-<hash of the state dir>", stable across
  // restarts and distinct for every state dir; "none": a dynamic member.
  std::string instance_id;
};

// The built-in demo event generator (embedded broker only).
struct GeneratorConfig {
  bool enabled = false;
  double events_per_second = 200;
  int teams = 300;
  uint64_t seed = 42;
  // Generated event time starts `history` before now and runs `time_scale`
  // times faster than the clock until it reaches now, then in real time
  // (never ahead of now): the demo shows past weeks within seconds.
  double time_scale = 1;
  absl::Duration history = absl::ZeroDuration();
};

// How `nsmd run` spreads its work over threads.
struct PipelineConfig {
  // Threads that decode and apply events (each owning a share of the
  // tasks); 0: as many as the cores the process may run on
  // (sched_getaffinity, so `taskset` limits it).
  int threads = 0;
};

// state.changelog: whether checkpoints are mirrored to Kafka changelog
// topics so tasks can move between instances (see TaskChangelog). kAuto: on
// exactly when tasks are per partition and instances share them in a
// consumer group.
enum class ChangelogMode { kAuto, kOn, kOff };

struct StateConfig {
  std::string dir = "/var/lib/nsmd";
  absl::Duration checkpoint_interval = absl::Seconds(1);
  ChangelogMode changelog = ChangelogMode::kAuto;
};

// http.tls: HTTPS, as the Prometheus exporter toolkit's tls_server_config.
struct HttpTlsConfig {
  std::string cert_file;              // PEM certificate (then its chain)
  std::string key_file;               // PEM private key
  std::string client_ca_file;         // non-empty: clients need a certificate from these CAs
  std::string min_version = "TLS12";  // TLS12 | TLS13
};

struct HttpConfig {
  std::string listen = "0.0.0.0:9464";
  // A connection idle this long (an incomplete request, a client that stops
  // reading) is closed.
  absl::Duration request_timeout = absl::Seconds(10);
  // Open connections beyond this are closed at accept.
  int max_connections = 4096;
  std::optional<HttpTlsConfig> tls;
  // http.basic_auth.users: user -> bcrypt hash; empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  // http.basic_auth.exempt_healthz: /healthz answers without credentials.
  bool basic_auth_exempt_healthz = false;
};

struct DaemonConfig {
  std::string path;  // the file it was read from
  KafkaConfig kafka;
  GeneratorConfig generator;
  StateConfig state;
  PipelineConfig pipeline;
  HttpConfig http;
  EventFormat format = EventFormat::Segment();
  // events.max_future_skew: events stamped further ahead of the wall clock
  // are rejected (future_timestamp).
  absl::Duration max_future_skew = absl::Hours(1);
  EngineOptions engine;
  // Field paths read by the metrics; shared by decoder and definitions.
  std::shared_ptr<FieldCatalog> catalog = std::make_shared<FieldCatalog>();
  std::vector<MetricDefinition> metrics;
  // `alert:` blocks by metric name, and the `alerting:` section: read only
  // by the generated rules (`nsmd rules`), never by the pipeline.
  std::map<std::string, AlertSpec> alerts;
  AlertingConfig alerting;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_DAEMON_CONFIG_H_
