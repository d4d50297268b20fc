#include "daemon/app/task_changelog.h"

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "daemon/app/crash_point.h"
#include "daemon/app/partition_task.h"
#include "daemon/base/status_macros.h"
#include "daemon/state/changelog_record.h"

namespace nsmd {
namespace {

// A restore commits what it has read whenever this much is pending (at a
// checkpoint's end), so memory stays bounded for any changelog.
constexpr size_t kRestoreBatchBytes = 64 << 20;
constexpr absl::Duration kMetadataTimeout = absl::Seconds(10);

// Splits "t/<topic>/<partition>/<rest>" into its task and the length of the
// task prefix; false for any other key (the whole-input task's "t/*/").
bool ParseTaskKey(absl::string_view key, TopicPartitionId* id, size_t* prefix_size) {
  if (!absl::ConsumePrefix(&key, "t/")) return false;
  const size_t slash = key.find('/');
  if (slash == absl::string_view::npos) return false;
  const size_t slash2 = key.find('/', slash + 1);
  if (slash2 == absl::string_view::npos) return false;
  int32_t partition = 0;
  if (!absl::SimpleAtoi(key.substr(slash + 1, slash2 - slash - 1), &partition)) return false;
  id->partition = PartitionId(partition);
  id->topic = std::string(key.substr(0, slash));
  *prefix_size = 2 + slash2 + 1;
  return true;
}

}  // namespace

std::string TaskChangelog::TopicName(absl::string_view group_id, absl::string_view topic) {
  if (absl::StartsWith(topic, absl::StrCat(group_id, "-")))
    return absl::StrCat(topic, "-changelog");
  return absl::StrCat(group_id, "-", topic, "-changelog");
}

absl::StatusOr<std::unique_ptr<TaskChangelog>> TaskChangelog::Create(
    const std::string& brokers, const std::map<std::string, std::string>& properties,
    std::string group_id, const std::string& transactional_id, GroupMetadataFn group_metadata) {
  ASSIGN_OR_RETURN(std::unique_ptr<ChangelogProducer> producer,
                   ChangelogProducer::Create(brokers, properties, transactional_id));
  ASSIGN_OR_RETURN(std::unique_ptr<ChangelogReader> reader,
                   ChangelogReader::Create(brokers, properties));
  // Checkpoint ids must differ across restarts of one instance too.
  std::string id_base = absl::StrCat(transactional_id, "/", absl::GetCurrentTimeNanos());
  return std::unique_ptr<TaskChangelog>(new TaskChangelog(std::move(group_id), std::move(id_base),
                                                          std::move(producer), std::move(reader),
                                                          std::move(group_metadata)));
}

absl::StatusOr<std::map<std::string, int>> TaskChangelog::EnsureTopics(
    const std::vector<std::string>& topics, const std::vector<std::string>& rekey_topics,
    int rekey_partitions) {
  std::vector<ChangelogProducer::TopicSpec> specs;
  for (const std::string& topic : rekey_topics) {
    specs.push_back({topic, topics.front(), /*changelog=*/false, rekey_partitions});
  }
  for (const std::string& topic : topics) specs.push_back({TopicName(group_id_, topic), topic});
  for (const std::string& topic : rekey_topics) {
    specs.push_back({TopicName(group_id_, topic), topic});
  }
  using Counts = std::map<std::string, int>;
  ASSIGN_OR_RETURN(Counts counts, producer_->EnsureTopics(specs, kMetadataTimeout));
  std::map<std::string, int> out;
  for (const std::string& topic : topics) out[topic] = counts[topic];
  for (const std::string& topic : rekey_topics) out[topic] = counts[topic];
  return out;
}

absl::Status TaskChangelog::Write(const StateDelta& delta, const std::vector<SourceOffset>& offsets,
                                  const std::vector<ChangelogProducer::PartitionRecords>& rekeyed,
                                  const StateStore& store,
                                  std::vector<SourceOffset>* changelog_offsets) {
  changelog_offsets->clear();
  std::string checkpoint_id;
  std::map<TopicPartitionId, KafkaOffset> marked;
  {
    absl::MutexLock lock(&mu_);
    checkpoint_id = absl::StrCat(id_base_, "/", ++seq_);
    marked = marked_;
  }
  std::map<TopicPartitionId, std::vector<ChangelogRecord>> records;
  TopicPartitionId id;
  size_t prefix_size = 0;
  // Tombstones first: the rows the store holds under each deleted prefix.
  for (const std::string& prefix : delta.prefix_deletions()) {
    if (!ParseTaskKey(prefix, &id, &prefix_size)) continue;
    std::vector<ChangelogRecord>& out = records[id];
    const std::string relative = prefix.substr(prefix_size);
    RETURN_IF_ERROR(
        store.ScanEngineStateUnder(prefix, [&](absl::string_view rest, absl::string_view value) {
          AppendTombstones(absl::StrCat(relative, rest), value.size(), checkpoint_id, &out);
          return absl::OkStatus();
        }));
  }
  for (const auto& [key, value] : delta.entries()) {
    if (!ParseTaskKey(key, &id, &prefix_size)) continue;
    std::vector<ChangelogRecord>& out = records[id];
    const absl::string_view relative = absl::string_view(key).substr(prefix_size);
    if (value) {
      AppendRowRecords(relative, *value, checkpoint_id, &out);
      continue;
    }
    size_t stored = 0;
    RETURN_IF_ERROR(
        store.ScanEngineStateUnder(key, [&](absl::string_view rest, absl::string_view v) {
          if (rest.empty()) stored = v.size();
          return absl::OkStatus();
        }));
    AppendTombstones(relative, stored, checkpoint_id, &out);
  }
  std::map<TopicPartitionId, KafkaOffset> input;
  for (const SourceOffset& o : offsets)
    input[TopicPartitionId{o.topic, o.partition}] = o.next_offset;
  // Every task with rows, and every task whose input offset moved.
  for (const auto& [task, next] : input) {
    auto was = marked.find(task);
    if (was == marked.end() || was->second != next) records[task];
  }
  std::vector<ChangelogProducer::PartitionRecords> batches;
  std::vector<std::pair<TopicPartitionId, std::optional<KafkaOffset>>> tasks;
  for (auto& [task, rows] : records) {
    ChangelogProducer::PartitionRecords batch;
    batch.partition = TopicPartitionId{TopicName(group_id_, task.topic), task.partition};
    batch.records = std::move(rows);
    std::optional<KafkaOffset> next;
    if (auto it = input.find(task); it != input.end()) next = it->second;
    batch.records.push_back(MarkerRecord(next, checkpoint_id));
    batches.push_back(std::move(batch));
    tasks.emplace_back(task, next);
  }
  if (batches.empty() && rekeyed.empty()) return absl::OkStatus();
  std::vector<const ChangelogProducer::PartitionRecords*> all;
  for (const ChangelogProducer::PartitionRecords& batch : rekeyed) all.push_back(&batch);
  for (const ChangelogProducer::PartitionRecords& batch : batches) all.push_back(&batch);
  if (CrashPointArmed("checkpoint_after_rekeyed")) {  // test only
    producer_->set_after_batches([this, n = rekeyed.size()](size_t produced) {
      if (n == 0 || produced != n) return;
      producer_->Flush();
      CrashPoint("checkpoint_after_rekeyed");
    });
  }
  rd_kafka_consumer_group_metadata_t* group = group_metadata_ ? group_metadata_() : nullptr;
  absl::StatusOr<std::map<TopicPartitionId, int64_t>> ends = producer_->Commit(all, offsets, group);
  if (group != nullptr) rd_kafka_consumer_group_metadata_destroy(group);
  if (!ends.ok()) return ends.status();
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < batches.size(); ++i) {
    auto end = ends->find(batches[i].partition);
    if (end == ends->end()) {
      return absl::InternalError(absl::StrCat("changelog: no delivery report for ",
                                              batches[i].partition.topic, "/",
                                              batches[i].partition.partition.value()));
    }
    const auto& [task, next] = tasks[i];
    changelog_offsets->push_back(
        SourceOffset{task.topic, task.partition, KafkaOffset(end->second)});
    if (next) marked_[task] = *next;
  }
  return absl::OkStatus();
}

absl::StatusOr<TaskChangelog::Restored> TaskChangelog::Restore(const TopicPartitionId& id,
                                                               StateStore* store) {
  const absl::Time start = absl::Now();
  Restored restored;
  const TopicPartitionId changelog{TopicName(group_id_, id.topic), id.partition};
  const std::string prefix = PartitionTask::KeyPrefix(id);
  ASSIGN_OR_RETURN(const ChangelogReader::Watermarks marks,
                   reader_->QueryWatermarks(changelog, kMetadataTimeout));
  ASSIGN_OR_RETURN(std::optional<KafkaOffset> from, store->ChangelogOffset(id.topic, id.partition));
  if (from && from->value() < marks.low) {
    std::fprintf(stderr,
                 "nsmd: task %s/%d: its changelog starts at %lld, after the local state's %lld: "
                 "restoring from the changelog's start\n",
                 id.topic.c_str(), id.partition.value(), static_cast<long long>(marks.low),
                 static_cast<long long>(from->value()));
    from.reset();
  }
  if (!from) {
    // The local rows (if any) are of unknown age: the changelog is the truth.
    RETURN_IF_ERROR(store->ForgetTask(prefix, id.topic, id.partition));
    restored.from_start = true;
    from = KafkaOffset(marks.low);
  }
  ChangelogReplay replay(prefix);
  auto commit = [&]() -> absl::Status {
    if (!replay.changelog_end()) return absl::OkStatus();
    StateDelta rows;
    replay.TakeRows(&rows);
    std::vector<SourceOffset> input;
    if (replay.input_next_offset()) {
      input.push_back(SourceOffset{id.topic, id.partition, *replay.input_next_offset()});
    }
    return store->Commit(
        rows, input, {SourceOffset{id.topic, id.partition, KafkaOffset(*replay.changelog_end())}});
  };
  if (from->value() < marks.high) {
    ASSIGN_OR_RETURN(
        restored.records,
        reader_->Read(changelog, from->value(), [&](const ChangelogRecord& r, int64_t offset) {
          RETURN_IF_ERROR(replay.Add(r, offset));
          if (replay.pending_bytes() >= kRestoreBatchBytes) return commit();
          return absl::OkStatus();
        }));
  }
  RETURN_IF_ERROR(commit());
  restored.rows = replay.rows();
  restored.checkpoints = replay.checkpoints();
  if (replay.input_next_offset()) {
    restored.input_next_offset = replay.input_next_offset();
  } else if (!restored.from_start) {
    // Nothing new: the local offset stands.
    ASSIGN_OR_RETURN(const std::vector<SourceOffset> all, store->LoadOffsets());
    for (const SourceOffset& o : all) {
      if (o.topic == id.topic && o.partition == id.partition) {
        restored.input_next_offset = o.next_offset;
      }
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (restored.input_next_offset) {
      marked_[id] = *restored.input_next_offset;
    } else {
      marked_.erase(id);
    }
  }
  restored.elapsed = absl::Now() - start;
  return restored;
}

}  // namespace nsmd
