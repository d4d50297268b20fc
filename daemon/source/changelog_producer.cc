#include "daemon/source/changelog_producer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_secrets.h"

namespace nsmd {
namespace {

constexpr int kTransactionTimeoutMs = 30000;

int Millis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, 1 << 30));
}

// Takes ownership of `error` and returns it as a status (Unavailable).
absl::Status TakeError(rd_kafka_error_t* error, absl::string_view what) {
  absl::Status s = absl::UnavailableError(
      absl::StrCat("changelog transaction: ", what, ": ", rd_kafka_error_string(error)));
  rd_kafka_error_destroy(error);
  return s;
}

void LogCallback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  std::fprintf(stderr, "nsmd: changelog producer: librdkafka %s (level %d): %s\n", facility, level,
               message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChangelogProducer>> ChangelogProducer::Create(
    const std::string& brokers, const std::map<std::string, std::string>& properties,
    const std::string& transactional_id) {
  std::unique_ptr<ChangelogProducer> p(
      new ChangelogProducer(brokers, properties, transactional_id));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  // A dry run of the configuration, so a bad property fails at start.
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("cannot set changelog producer property \"",
                                                     name,
                                                     "\": ", RedactKafkaSecrets(err, properties)));
    }
  }
  rd_kafka_conf_destroy(conf);
  if (absl::Status s = p->Connect(); !s.ok()) return s;
  return p;
}

ChangelogProducer::~ChangelogProducer() {
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

absl::Status ChangelogProducer::Connect() {
  if (rk_ != nullptr) {
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }
  initialized_ = false;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::map<std::string, std::string> all = {
      {"bootstrap.servers", brokers_},
      {"client.id", "nsmd-changelog"},
      {"linger.ms", "5"},
      {"transaction.timeout.ms", absl::StrCat(kTransactionTimeoutMs)}};
  for (const auto& [name, value] : properties_) all[name] = value;
  all["transactional.id"] = transactional_id_;
  char err[512];
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("cannot set changelog producer property \"",
                                                     name,
                                                     "\": ", RedactKafkaSecrets(err, properties_)));
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, DeliveryCallback);
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("cannot create the changelog producer: ",
                                                   RedactKafkaSecrets(err, properties_)));
  }
  return absl::OkStatus();
}

void ChangelogProducer::DeliveryCallback(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<ChangelogProducer*>(opaque);
  absl::MutexLock lock(&self->mu_);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->delivery_error_ = rd_kafka_err2str(m->err);
    return;
  }
  int64_t& after =
      self->delivered_[TopicPartitionId{rd_kafka_topic_name(m->rkt), PartitionId(m->partition)}];
  after = std::max(after, m->offset + 1);
}

absl::StatusOr<std::map<std::string, int>> ChangelogProducer::EnsureTopics(
    const std::vector<TopicSpec>& topics, absl::Duration timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  // All topics: asking for an unknown one by name would auto-create it
  // (with the broker's default partition count) on clusters that allow it.
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the cluster's topics: ", rd_kafka_err2str(err)));
  }
  std::map<std::string, int> partitions;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      partitions[md->topics[i].topic] = md->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  std::map<std::string, int> out;
  for (const TopicSpec& spec : topics) {
    const char* role = spec.changelog ? "changelog" : "repartition";
    auto like = partitions.find(spec.like);
    if (like == partitions.end()) {
      return absl::NotFoundError(absl::StrCat("topic ", spec.like, " does not exist"));
    }
    out[spec.like] = like->second;
    auto have = partitions.find(spec.topic);
    if (have != partitions.end()) {
      if (spec.changelog && have->second < like->second) {
        return absl::FailedPreconditionError(absl::StrCat(
            "changelog topic ", spec.topic, " has ", have->second, " partition(s), fewer than the ",
            like->second, " of ", spec.like,
            ": each of its partitions' tasks needs its own changelog partition. Delete the "
            "changelog topic (nsmd creates it again, compacted, with ",
            like->second, " partitions) or add partitions to it"));
      }
      out[spec.topic] = have->second;
      continue;
    }
    const int count = spec.changelog || spec.partitions == 0 ? like->second : spec.partitions;
    char errstr[512];
    rd_kafka_NewTopic_t* topic =
        rd_kafka_NewTopic_new(spec.topic.c_str(), count, -1, errstr, sizeof errstr);
    if (topic == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot describe ", role, " topic ", spec.topic, ": ", errstr));
    }
    if (spec.changelog) rd_kafka_NewTopic_set_config(topic, "cleanup.policy", "compact");
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk_);
    rd_kafka_CreateTopics(rk_, &topic, 1, nullptr, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, Millis(timeout));
    std::string error;
    if (ev == nullptr) {
      error = "no answer";
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = rd_kafka_event_error_string(ev);
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      for (size_t i = 0; i < n; ++i) {
        const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          error = rd_kafka_err2str(e);
        }
      }
    }
    if (ev != nullptr) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(queue);
    rd_kafka_NewTopic_destroy(topic);
    const char* policy = spec.changelog ? ", cleanup.policy=compact" : "";
    if (!error.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create ", role, " topic ", spec.topic, " (", count, " partitions",
                       policy, "): ", error, ". Create it yourself (with `nsmd broker`: --topic ",
                       spec.topic, ":", count, ")"));
    }
    std::fprintf(stderr, "nsmd: created %s topic %s (%d partitions%s)\n", role, spec.topic.c_str(),
                 count, spec.changelog ? ", compacted" : "");
    partitions[spec.topic] = count;
    out[spec.topic] = count;
  }
  return out;
}

void ChangelogProducer::Flush() { rd_kafka_flush(rk_, kTransactionTimeoutMs); }

absl::Status ChangelogProducer::Produce(const TopicPartitionId& partition,
                                        const ChangelogRecord& record) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
  if (!record.checkpoint_id.empty()) {  // empty: a repartition topic's record
    rd_kafka_header_add(headers, kChangelogCheckpointHeader.data(),
                        static_cast<ssize_t>(kChangelogCheckpointHeader.size()),
                        record.checkpoint_id.data(),
                        static_cast<ssize_t>(record.checkpoint_id.size()));
  }
  if (record.chunks != 0) {
    const std::string chunks = absl::StrCat(record.chunks);
    rd_kafka_header_add(headers, kChangelogChunksHeader.data(),
                        static_cast<ssize_t>(kChangelogChunksHeader.size()), chunks.data(),
                        static_cast<ssize_t>(chunks.size()));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    void* value = record.value ? const_cast<char*>(record.value->data()) : nullptr;
    const size_t size = record.value ? record.value->size() : 0;
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(partition.topic.c_str()),
                          RD_KAFKA_V_PARTITION(partition.partition.value()),
                          RD_KAFKA_V_KEY(const_cast<char*>(record.key.data()), record.key.size()),
                          RD_KAFKA_V_VALUE(value, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();  // headers are librdkafka's
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && absl::Now() < deadline) {
      rd_kafka_poll(rk_, 10);
      continue;
    }
    rd_kafka_headers_destroy(headers);
    return absl::UnavailableError(absl::StrCat("cannot produce to ", partition.topic, "/",
                                               partition.partition.value(), ": ",
                                               rd_kafka_err2str(err)));
  }
}

absl::StatusOr<std::map<TopicPartitionId, int64_t>> ChangelogProducer::Commit(
    const std::vector<PartitionRecords>& batches, const std::vector<SourceOffset>& input_offsets,
    rd_kafka_consumer_group_metadata_t* group) {
  std::vector<const PartitionRecords*> pointers;
  for (const PartitionRecords& batch : batches) pointers.push_back(&batch);
  return Commit(pointers, input_offsets, group);
}

absl::StatusOr<std::map<TopicPartitionId, int64_t>> ChangelogProducer::Commit(
    const std::vector<const PartitionRecords*>& batches,
    const std::vector<SourceOffset>& input_offsets, rd_kafka_consumer_group_metadata_t* group) {
  if (rk_ == nullptr) {
    if (absl::Status s = Connect(); !s.ok()) return s;
  }
  if (!initialized_) {
    if (rd_kafka_error_t* e = rd_kafka_init_transactions(rk_, kTransactionTimeoutMs)) {
      const bool fatal = rd_kafka_error_is_fatal(e);
      absl::Status s = TakeError(e, "init");
      if (fatal) Connect().IgnoreError();
      return s;
    }
    initialized_ = true;
  }
  {
    absl::MutexLock lock(&mu_);
    delivered_.clear();
    delivery_error_.clear();
  }
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk_)) return TakeError(e, "begin");
  // From here on a failure aborts the transaction.
  auto fail = [this](absl::Status s) -> absl::Status {
    rd_kafka_error_t* e = rd_kafka_abort_transaction(rk_, kTransactionTimeoutMs);
    if (e != nullptr) {
      // The producer is in no state to go on: start a new one next time.
      rd_kafka_error_destroy(e);
      rk_ = (rd_kafka_destroy(rk_), nullptr);
      initialized_ = false;
    }
    return s;
  };
  for (size_t i = 0; i < batches.size(); ++i) {
    for (const ChangelogRecord& record : batches[i]->records) {
      if (absl::Status s = Produce(batches[i]->partition, record); !s.ok()) return fail(s);
    }
    if (after_batches_) after_batches_(i + 1);
  }
  if (group != nullptr && !input_offsets.empty()) {
    rd_kafka_topic_partition_list_t* offsets =
        rd_kafka_topic_partition_list_new(static_cast<int>(input_offsets.size()));
    for (const SourceOffset& o : input_offsets) {
      rd_kafka_topic_partition_list_add(offsets, o.topic.c_str(), o.partition.value())->offset =
          o.next_offset.value();
    }
    rd_kafka_error_t* e =
        rd_kafka_send_offsets_to_transaction(rk_, offsets, group, kTransactionTimeoutMs);
    rd_kafka_topic_partition_list_destroy(offsets);
    if (e != nullptr) return fail(TakeError(e, "send offsets"));
  }
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(rk_, kTransactionTimeoutMs)) {
    const bool fatal = rd_kafka_error_is_fatal(e);
    absl::Status s = TakeError(e, "commit");
    if (fatal) {
      rk_ = (rd_kafka_destroy(rk_), nullptr);
      initialized_ = false;
      return s;
    }
    return fail(s);
  }
  absl::MutexLock lock(&mu_);
  if (!delivery_error_.empty()) {
    // Cannot happen after a successful commit; refuse to trust it anyway.
    return absl::UnavailableError(
        absl::StrCat("changelog transaction: a record was not delivered: ", delivery_error_));
  }
  return delivered_;
}

}  // namespace nsmd
