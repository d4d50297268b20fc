#include "daemon/source/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_secrets.h"
#include "simdjson.h"

namespace nsmd {
namespace {

// At most one log line per interval; the rest are counted.
constexpr absl::Duration kLogInterval = absl::Seconds(10);

// kAllPartitions: the longest the cluster's metadata request may hold up a
// Poll(), and how soon to look again while no partition is assigned.
constexpr int kMetadataTimeoutMs = 1000;
constexpr absl::Duration kUnassignedDiscoveryInterval = absl::Seconds(1);

// librdkafka's error text with `value` blanked out: "Invalid value "x" for
// configuration property ..." must not leak a secret (even one set under a
// misspelt, so unrecognised, property name).
std::string Redact(const std::string& text, const std::string& value) {
  if (value.empty()) return text;
  return absl::StrReplaceAll(text, {{value, "<redacted>"}});
}

absl::Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka.properties: cannot set \"", name, "\": ", Redact(err, value)));
  }
  return absl::OkStatus();
}

// How long a broker's answer (a message, topic metadata) counts as being
// connected whatever librdkafka's events say: its statistics and errors wait
// in the poll queue, so ones from before the answer may be served after it.
constexpr int64_t kAnswerFreshUs = 2'000'000;

int64_t MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<TopicPartitionId> ToIds(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<TopicPartitionId> out;
  for (int i = 0; i < parts->cnt; ++i) {
    out.push_back({parts->elems[i].topic, PartitionId(parts->elems[i].partition)});
  }
  return out;
}

}  // namespace

KafkaSource::KafkaSource(Options options) : options_(std::move(options)) {}

KafkaSource::~KafkaSource() {
  Close();
  if (rk_ != nullptr) {
    rd_kafka_destroy_flags(rk_, close_abandoned_ ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
  }
}

absl::StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Create(Options options) {
  if (options.start_offset != "earliest" && options.start_offset != "latest") {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka.start_offset must be \"earliest\" or \"latest\", not \"",
                     options.start_offset, "\""));
  }
  std::unique_ptr<KafkaSource> source(new KafkaSource(std::move(options)));
  const Options& o = source->options_;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"bootstrap.servers", o.brokers},
      {"group.id", o.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"auto.offset.reset", o.start_offset},
      {"session.timeout.ms", "6000"},
      {"statistics.interval.ms", "1000"},
      {"client.id", "nsmd"},
      // librdkafka 2.0's default (100000) makes the fetcher pause and resume
      // late whenever the application is slower than the network: measured
      // on a 2 M event backlog, a consumer doing 2.5 us of work per message
      // reached 197 k/s instead of 315 k/s (benchmarks/RESULTS.md). Memory
      // stays bounded by queued.max.messages.kbytes (below).
      {"queued.min.messages", "1000000"},
      // librdkafka 2.0 stops fetching once the queue of fetched messages
      // holds this much, and its broker thread looks again only when woken
      // or after up to a second. With the default (64 MiB, about 0.3 s of
      // nsmd's catch-up) the queue ran dry in that second: a 2 M-event
      // catch-up alternated bursts with half-idle stalls of 0.4-0.5 s and
      // read 490-650 k events/s; with 256 MiB, 840 k-1 M/s
      // (benchmarks/RESULTS.md). It bounds the memory of messages fetched
      // ahead while catching up.
      {"queued.max.messages.kbytes", "262144"},
  };
  std::vector<std::pair<std::string, std::string>> group_defaults;
  if (o.assignment == PartitionAssignment::kGroup) {
    // Incremental rebalances: a member joining or leaving moves only the
    // partitions that change owner; the others keep being read.
    group_defaults.emplace_back("partition.assignment.strategy", "cooperative-sticky");
    if (!o.instance_id.empty()) group_defaults.emplace_back("group.instance.id", o.instance_id);
  }
  absl::Status s;
  for (const auto& [name, value] : defaults) {
    if (s = SetProperty(conf, name, value); !s.ok()) break;
  }
  for (const auto& [name, value] : group_defaults) {
    if (!s.ok()) break;
    s = SetProperty(conf, name, value);
  }
  for (const auto& [name, value] : o.properties) {
    if (!s.ok()) break;
    s = SetProperty(conf, name, value);
  }
  if (!s.ok()) {
    rd_kafka_conf_destroy(conf);
    return s;
  }
  rd_kafka_conf_set_opaque(conf, source.get());
  rd_kafka_conf_set_rebalance_cb(
      conf, [](rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
               void* opaque) { RebalanceCallback(rk, err, parts, opaque); });
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    ErrorCallback(rk, err, reason, opaque);
  });
  rd_kafka_conf_set_stats_cb(conf, StatsCallback);
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {  // conf is still ours
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka consumer: ", RedactKafkaSecrets(err, o.properties)));
  }
  source->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);
  if (o.assignment == PartitionAssignment::kAllPartitions) return source;  // assigned in Poll()
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(o.topics.size()));
  for (const std::string& t : o.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot subscribe to kafka.topics: ", rd_kafka_err2str(e)));
  }
  return source;
}

rd_kafka_consumer_group_metadata_t* KafkaSource::GroupMetadata() const {
  return rd_kafka_consumer_group_metadata(rk_);
}

void KafkaSource::RebalanceCallback(rd_kafka_t*, int err, rd_kafka_topic_partition_list_t* parts,
                                    void* opaque) {
  static_cast<KafkaSource*>(opaque)->OnRebalance(err, parts);
}

void KafkaSource::OnRebalance(int err, rd_kafka_topic_partition_list_t* parts) {
  const bool cooperative = std::string(rd_kafka_rebalance_protocol(rk_)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Assign(parts, cooperative);
    return;
  }
  const std::vector<TopicPartitionId> ids = ToIds(parts);
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    std::fprintf(stderr, "nsmd: kafka: %d partition(s) revoked; checkpointing first\n", parts->cnt);
    if (options_.on_revoke) options_.on_revoke(ids);
  } else {
    std::fprintf(stderr, "nsmd: kafka: rebalance error: %s\n",
                 rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
  }
  {
    absl::MutexLock lock(&mu_);
    if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      for (const TopicPartitionId& id : ids) positions_.erase(id);
    } else {
      positions_.clear();
    }
  }
  if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts);
    if (e != nullptr) {
      std::fprintf(stderr, "nsmd: kafka: cannot unassign the revoked partitions: %s\n",
                   rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
  } else if (rd_kafka_resp_err_t e = rd_kafka_assign(rk_, nullptr);
             e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "nsmd: kafka: cannot unassign the revoked partitions: %s\n",
                 rd_kafka_err2str(e));
  }
}

void KafkaSource::Assign(rd_kafka_topic_partition_list_t* parts, bool incremental) {
  std::vector<SourceOffset> known;
  if (options_.on_assign) known = options_.on_assign(ToIds(parts));
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& p = parts->elems[i];
    const PartitionId partition(p.partition);
    std::optional<KafkaOffset> next;
    for (const SourceOffset& k : known) {
      if (k.topic == p.topic && k.partition == partition) next = k.next_offset;
    }
    if (next) {
      p.offset = next->value();
      std::fprintf(stderr, "nsmd: kafka: assigned %s/%d, resuming at checkpointed offset %lld\n",
                   p.topic, p.partition, static_cast<long long>(next->value()));
    } else {
      p.offset =
          options_.start_offset == "latest" ? RD_KAFKA_OFFSET_END : RD_KAFKA_OFFSET_BEGINNING;
      std::fprintf(stderr,
                   "nsmd: kafka: assigned %s/%d; no checkpoint for it in the state dir, "
                   "starting from the %s offset (kafka.start_offset)\n",
                   p.topic, p.partition, options_.start_offset.c_str());
    }
    positions_[{p.topic, partition}] = next;
  }
  if (incremental) {
    rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts);
    if (e != nullptr) {
      LogRateLimited(absl::StrCat("cannot assign partitions: ", rd_kafka_error_string(e)));
      rd_kafka_error_destroy(e);
    }
  } else if (rd_kafka_resp_err_t e = rd_kafka_assign(rk_, parts); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    LogRateLimited(absl::StrCat("cannot assign partitions: ", rd_kafka_err2str(e)));
  }
  // Paused while checkpoints fail: new partitions start paused too.
  if (paused_) {
    if (rd_kafka_resp_err_t e = rd_kafka_pause_partitions(rk_, parts);
        e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "nsmd: kafka: cannot pause the assigned partitions: %s\n",
                   rd_kafka_err2str(e));
    }
  }
}

void KafkaSource::DiscoverPartitions() {
  const absl::Time now = absl::Now();
  if (now < next_discovery_) return;
  // The metadata of every topic, not of ours by name: a request naming a
  // topic that does not exist may create it (brokers with
  // auto.create.topics.enable, librdkafka's mock cluster), so a misspelt
  // kafka.topics entry would create a topic instead of being reported.
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, kMetadataTimeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    LogRateLimited(absl::StrCat("cannot read the topics' partitions (kafka.assignment: all): ",
                                rd_kafka_err2str(err)));
    next_discovery_ = absl::Now() + kUnassignedDiscoveryInterval;
    return;
  }
  NoteBrokerAnswered();
  rd_kafka_topic_partition_list_t* added = rd_kafka_topic_partition_list_new(0);
  for (const std::string& topic : options_.topics) {
    const rd_kafka_metadata_topic_t* found = nullptr;
    for (int t = 0; t < md->topic_cnt; ++t) {
      if (topic == md->topics[t].topic) found = &md->topics[t];
    }
    if (found == nullptr || found->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      LogRateLimited(absl::StrCat(
          "topic \"", topic, "\" of kafka.topics (kafka.assignment: all): ",
          found == nullptr ? "not in the cluster's metadata" : rd_kafka_err2str(found->err)));
      continue;
    }
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < found->partition_cnt; ++i) {
      if (!positions_.contains({topic, PartitionId(found->partitions[i].id)})) {
        rd_kafka_topic_partition_list_add(added, topic.c_str(), found->partitions[i].id);
      }
    }
  }
  rd_kafka_metadata_destroy(md);
  if (added->cnt > 0) {
    rd_kafka_topic_partition_list_sort(added, nullptr, nullptr);
    Assign(added, /*incremental=*/true);
  }
  rd_kafka_topic_partition_list_destroy(added);
  bool none;
  {
    absl::MutexLock lock(&mu_);
    none = positions_.empty();
  }
  next_discovery_ =
      absl::Now() + (none ? std::min(kUnassignedDiscoveryInterval, options_.discovery_interval)
                          : options_.discovery_interval);
}

void KafkaSource::ErrorCallback(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->connected_ = false;
  self->LogRateLimited(
      absl::StrCat(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), ": ", reason));
}

int KafkaSource::StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json, len).get(doc)) return 0;
  simdjson::dom::object brokers;
  if (doc["brokers"].get_object().get(brokers)) return 0;
  bool up = false;
  for (auto broker : brokers) {
    int64_t node = -1;
    std::string_view state;
    if (broker.value["nodeid"].get_int64().get(node) || node < 0) continue;
    if (broker.value["state"].get_string().get(state)) continue;
    up |= state == "UP";
  }
  self->connected_ = up;
  return 0;  // librdkafka frees the JSON
}

void KafkaSource::LogCallback(const rd_kafka_t* rk, int level, const char* facility,
                              const char* message) {
  // librdkafka's own log lines (from its threads) may quote property values
  // (e.g. "Unrecognized sasl.oauthbearer.config beginning at: ..."): redact
  // the values of secret properties before printing.
  std::string text = message;
  if (auto* self = static_cast<KafkaSource*>(rd_kafka_opaque(rk)); self != nullptr) {
    text = RedactKafkaSecrets(text, self->options_.properties);
  }
  std::fprintf(stderr, "nsmd: kafka: librdkafka %s (level %d): %s\n", facility, level,
               text.c_str());
}

void KafkaSource::LogRateLimited(const std::string& message) {
  const absl::Time now = absl::Now();
  if (now - last_log_ < kLogInterval) {
    ++suppressed_logs_;
    return;
  }
  std::string text = RedactKafkaSecrets(message, options_.properties);
  if (suppressed_logs_ > 0) absl::StrAppend(&text, " (", suppressed_logs_, " more since the last)");
  std::fprintf(stderr, "nsmd: kafka: %s\n", text.c_str());
  last_log_ = now;
  suppressed_logs_ = 0;
}

absl::StatusOr<int> KafkaSource::Poll(int max_messages, absl::Duration timeout,
                                      absl::FunctionRef<void(SourceMessage&)> fn) {
  if (closed_) return absl::FailedPreconditionError("the Kafka consumer is closed");
  if (options_.assignment == PartitionAssignment::kAllPartitions) DiscoverPartitions();
  int delivered = 0;
  int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  // Positions reached, recorded once per run of messages from one partition
  // (a fetch delivers a partition's messages together), not per message.
  std::map<TopicPartitionId, KafkaOffset> seen;
  std::string run_topic;
  std::optional<PartitionId> run_partition;  // none before the first message
  KafkaOffset run_next;
  auto end_run = [&] {
    if (run_partition) seen[{run_topic, *run_partition}] = run_next;
  };
  while (delivered < max_messages) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
    if (m == nullptr) break;
    wait_ms = 0;  // after the first message, take only what is already here
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        LogRateLimited(rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    const char* topic = rd_kafka_topic_name(m->rkt);
    const PartitionId partition(m->partition);
    const KafkaOffset offset(m->offset);
    if (partition != run_partition || run_topic != topic) {
      end_run();
      run_topic = topic;
      run_partition = partition;
    }
    run_next = offset.Next();
    SourceMessage message;
    message.topic = topic;
    message.partition = partition;
    message.offset = offset;
    message.key = absl::string_view(static_cast<const char*>(m->key), m->key_len);
    message.payload = absl::string_view(static_cast<const char*>(m->payload), m->len);
    // The message (and its topic, which it references) lives until the
    // lease is destroyed: here, unless `fn` takes it.
    message.lease = MessageLease(
        m, [](void* p) { rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(p)); });
    fn(message);
    ++delivered;
  }
  end_run();
  if (delivered > 0) NoteBrokerAnswered();  // once per poll, not per message
  if (!seen.empty()) {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, next] : seen) {
      auto it = positions_.find(id);
      if (it != positions_.end()) it->second = next;
    }
  }
  return delivered;
}

absl::Status KafkaSource::CommitOffsets(const std::vector<SourceOffset>& next_offsets) {
  if (closed_ || next_offsets.empty()) return absl::OkStatus();
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets.size()));
  {
    absl::MutexLock lock(&mu_);
    for (const SourceOffset& o : next_offsets) {
      if (!positions_.contains({o.topic, o.partition})) continue;  // not ours now
      rd_kafka_topic_partition_list_add(list, o.topic.c_str(), o.partition.value())->offset =
          o.next_offset.value();
    }
  }
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (list->cnt > 0) err = rd_kafka_commit(rk_, list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("offset commit failed: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

void KafkaSource::Pause(bool paused) {
  if (closed_ || paused == paused_) return;
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_, &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const rd_kafka_resp_err_t e =
      paused ? rd_kafka_pause_partitions(rk_, list) : rd_kafka_resume_partitions(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // paused_ stays as it was: the next Pause() call tries again.
    std::fprintf(stderr, "nsmd: kafka: cannot %s the assigned partitions: %s\n",
                 paused ? "pause" : "resume", rd_kafka_err2str(e));
    return;
  }
  paused_ = paused;
}

void KafkaSource::NoteBrokerAnswered() {
  answered_at_us_ = MonotonicMicros();
  connected_ = true;
}

bool KafkaSource::Connected() const {
  return connected_.load() || MonotonicMicros() - answered_at_us_.load() < kAnswerFreshUs;
}

int KafkaSource::PendingEvents() const { return rk_ == nullptr ? 0 : rd_kafka_outq_len(rk_); }

std::vector<TopicPartitionId> KafkaSource::Assignment() const {
  absl::MutexLock lock(&mu_);
  std::vector<TopicPartitionId> out;
  for (const auto& [id, next] : positions_) out.push_back(id);
  return out;
}

std::vector<TopicPartitionId> KafkaSource::Unread() const {
  absl::MutexLock lock(&mu_);
  std::vector<TopicPartitionId> out;
  for (const auto& [id, next] : positions_) {
    if (!next) out.push_back(id);
  }
  return out;
}

std::vector<std::pair<TopicPartitionId, int64_t>> KafkaSource::Lag() const {
  std::vector<std::pair<TopicPartitionId, int64_t>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, next] : positions_) {
    int64_t low = 0, high = -1;
    int64_t lag = -1;
    if (rd_kafka_get_watermark_offsets(rk_, id.topic.c_str(), id.partition.value(), &low, &high) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0) {
      // Not read anything yet: everything from the low watermark is behind.
      lag = std::max<int64_t>(0, high - (next ? next->value() : low));
    }
    out.emplace_back(id, lag);
  }
  return out;
}

void KafkaSource::Close(absl::Duration timeout) {
  if (closed_ || rk_ == nullptr) return;
  // rd_kafka_consumer_close() blocks until the group is left, which never
  // happens while the coordinator is unreachable; the queue form lets the
  // wait have a deadline. Rebalance events come back on that queue as
  // events (the rebalance callback is not called for them).
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
  rd_kafka_error_t* error = rd_kafka_consumer_close_queue(rk_, queue);
  if (error != nullptr) {
    std::fprintf(stderr, "nsmd: kafka: cannot close the consumer: %s\n",
                 rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    close_abandoned_ = true;
  } else {
    const absl::Time deadline = absl::Now() + timeout;
    while (!rd_kafka_consumer_closed(rk_) && absl::Now() < deadline) {
      rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 100);
      if (event == nullptr) continue;
      if (rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE) {
        OnRebalance(rd_kafka_event_error(event), rd_kafka_event_topic_partition_list(event));
      }
      rd_kafka_event_destroy(event);
    }
    if (!rd_kafka_consumer_closed(rk_)) {
      std::fprintf(stderr,
                   "nsmd: kafka: could not leave the consumer group within %s (no broker "
                   "reachable?); the group drops this member after session.timeout.ms\n",
                   absl::FormatDuration(timeout).c_str());
      close_abandoned_ = true;
    }
  }
  rd_kafka_queue_destroy(queue);
  closed_ = true;
  connected_ = false;
}

}  // namespace nsmd
