#include "daemon/source/changelog_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/source/kafka_secrets.h"

namespace nsmd {
namespace {

int Millis(absl::Duration d) {
  return static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(d), 1, 1 << 30));
}

void LogCallback(const rd_kafka_t*, int level, const char* facility, const char* message) {
  std::fprintf(stderr, "nsmd: changelog reader: librdkafka %s (level %d): %s\n", facility, level,
               message);
}

// The value of header `name`, or "" if absent.
std::string Header(const rd_kafka_message_t* m, absl::string_view name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return "";
  const void* value = nullptr;
  size_t size = 0;
  const std::string n(name);
  if (rd_kafka_header_get_last(headers, n.c_str(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return "";
  }
  return std::string(static_cast<const char*>(value), size);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChangelogReader>> ChangelogReader::Create(
    const std::string& brokers, const std::map<std::string, std::string>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Restores read whole partitions: fetch large (overridable) slices.
  std::map<std::string, std::string> all = {{"max.partition.fetch.bytes", "16777216"},
                                            {"fetch.wait.max.ms", "10"}};
  for (const auto& [name, value] : properties) all[name] = value;
  // nsmd's own settings win here: this consumer belongs to no group.
  all["bootstrap.servers"] = brokers;
  all["client.id"] = "nsmd-changelog-reader";
  all["group.id"] = "nsmd-changelog-reader";  // never joined, never committed to
  all.erase("group.instance.id");
  all["enable.auto.commit"] = "false";
  all["enable.auto.offset.store"] = "false";
  all["enable.partition.eof"] = "true";
  all["isolation.level"] = "read_committed";
  all["auto.offset.reset"] = "error";
  char err[512];
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat("cannot set changelog reader property \"",
                                                     name,
                                                     "\": ", RedactKafkaSecrets(err, properties)));
    }
  }
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the changelog reader: ", RedactKafkaSecrets(err, properties)));
  }
  rd_kafka_poll_set_consumer(rk);
  return std::unique_ptr<ChangelogReader>(new ChangelogReader(rk));
}

ChangelogReader::~ChangelogReader() {
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

absl::StatusOr<ChangelogReader::Watermarks> ChangelogReader::QueryWatermarks(
    const TopicPartitionId& partition, absl::Duration timeout) {
  Watermarks w;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk_, partition.topic.c_str(), partition.partition.value(), &w.low, &w.high, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot read the offsets of changelog ",
                                               partition.topic, "/", partition.partition.value(),
                                               ": ", rd_kafka_err2str(err)));
  }
  return w;
}

absl::StatusOr<uint64_t> ChangelogReader::Read(
    const TopicPartitionId& partition, int64_t start,
    const std::function<absl::Status(const ChangelogRecord&, int64_t)>& fn,
    absl::Duration stall_timeout) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, partition.topic.c_str(), partition.partition.value())
      ->offset = start;
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot read changelog ", partition.topic, "/",
                                               partition.partition.value(), ": ",
                                               rd_kafka_err2str(err)));
  }
  uint64_t records = 0;
  absl::Status status;
  absl::Time last_progress = absl::Now();
  while (true) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 200);
    if (m == nullptr) {
      if (absl::Now() - last_progress > stall_timeout) {
        status = absl::DeadlineExceededError(absl::StrCat(
            "changelog ", partition.topic, "/", partition.partition.value(), " sent nothing for ",
            absl::FormatDuration(stall_timeout), " after ", records, " record(s)"));
        break;
      }
      continue;
    }
    last_progress = absl::Now();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const bool range = m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                         m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
      const std::string text =
          absl::StrCat("cannot read changelog ", partition.topic, "/", partition.partition.value(),
                       " from offset ", start, ": ", rd_kafka_message_errstr(m));
      status = range ? absl::OutOfRangeError(text) : absl::UnavailableError(text);
      rd_kafka_message_destroy(m);
      break;
    }
    ChangelogRecord record;
    if (m->key != nullptr) record.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) {
      record.value.emplace(static_cast<const char*>(m->payload), m->len);
    }
    record.checkpoint_id = Header(m, kChangelogCheckpointHeader);
    if (const std::string chunks = Header(m, kChangelogChunksHeader); !chunks.empty()) {
      if (!absl::SimpleAtoi(chunks, &record.chunks)) record.chunks = 0;
    }
    const int64_t offset = m->offset;
    rd_kafka_message_destroy(m);
    ++records;
    status = fn(record, offset);
    if (!status.ok()) break;
  }
  // The next read assigns afresh: a failed unassign only keeps this one's
  // fetches going meanwhile.
  if (rd_kafka_resp_err_t e = rd_kafka_assign(rk_, nullptr); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "nsmd: changelog reader: cannot unassign after reading: %s\n",
                 rd_kafka_err2str(e));
  }
  if (!status.ok()) return status;
  return records;
}

}  // namespace nsmd
