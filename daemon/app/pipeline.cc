#include "daemon/app/pipeline.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>
#include <string_view>

#include "absl/numeric/int128.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "daemon/app/checkpoint_writer.h"
#include "daemon/app/task_changelog.h"
#include "daemon/base/status_macros.h"
#include "daemon/decode/rekey_record.h"
#include "daemon/engine/key_partitioning.h"
#include "daemon/engine/series_merge.h"
#include "daemon/export/pipeline_probe.h"

namespace nsmd {
namespace {

// How often (at most) a rejected message is logged; the rest are counted.
constexpr absl::Duration kRejectLogInterval = absl::Seconds(10);
// How many events ahead ProcessBatch starts loading an event's dedup slot:
// in a 2 M event catch-up, 4 to 16 ahead all gave 10-25 % more events/s
// than 1 ahead (benchmarks/RESULTS.md).
constexpr size_t kIdPrefetchDistance = 8;

// The decoder's limits from the config (the wall clock is the real one).
EventDecoderOptions DecoderOptions(const DaemonConfig& config) {
  EventDecoderOptions options;
  options.max_message_bytes = static_cast<size_t>(config.kafka.max_message_bytes);
  options.max_future_skew = config.max_future_skew;
  options.hashed_fields = MemberFields(config.metrics);
  return options;
}

}  // namespace

struct Pipeline::Lane {
  // Two decoders, used in turn by Process(): the event it holds back stays
  // valid (it points into its decoder's buffers) while the next one is
  // decoded. ProcessLaneBatch() decodes with the first.
  std::array<std::unique_ptr<EventDecoder>, 2> decoders;
  int next_decoder = 0;
  std::unique_ptr<RekeyRecordDecoder> rekey_decoder;  // of repartition topics' records
  // Rekey records of the events this lane applied since the last
  // checkpoint, by route, then partition of its topic.
  std::vector<std::vector<std::vector<ChangelogRecord>>> outbox;
  HeldEvent held;
  CurrentPartition current;
  Counts counts;
  bool offsets_dirty = false;
  // `counts` as of the end of the lane's last ProcessLaneBatch() (or the
  // last ReportCounts()), for ReportLaneCounts() on the owner's thread.
  absl::Mutex mu;
  Counts published ABSL_GUARDED_BY(mu);
};

Pipeline::Pipeline(StateStore* store, PipelineProbe* probe)
    : store_(store), probe_(probe), writer_(std::make_unique<CheckpointWriter>(store)) {
  lanes_.push_back(std::make_unique<Lane>());
}

Pipeline::~Pipeline() = default;

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const DaemonConfig& config,
                                                           StateStore* store,
                                                           PipelineProbe* probe) {
  std::unique_ptr<Pipeline> p(new Pipeline(store, probe));
  // Tasks build their engines when they are loaded: check the definitions
  // (names, ratio operands) now.
  RETURN_IF_ERROR(Engine::Create(config.metrics, config.engine).status());
  p->metrics_ = config.metrics;
  p->key_field_ = config.kafka.key_field;
  p->engine_options_ = config.engine;
  p->per_partition_ = PerPartitionTasks(config);
  p->catalog_ = config.catalog;
  p->MakeDecoders(config);
  return p;
}

void Pipeline::MakeDecoders(const DaemonConfig& config) {
  format_ = config.format;
  decoder_options_ = DecoderOptions(config);
  for (std::unique_ptr<Lane>& lane : lanes_) {
    for (std::unique_ptr<EventDecoder>& decoder : lane->decoders) decoder = NewDecoder();
    lane->rekey_decoder =
        std::make_unique<RekeyRecordDecoder>(catalog_.get(), decoder_options_.hashed_fields);
    lane->next_decoder = 0;
  }
}

void Pipeline::SetLanes(int lanes) {
  Flush();
  Counts so_far = counts();
  lanes_.clear();
  for (int i = 0; i < std::max(lanes, 1); ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    Lane& lane = *lanes_.back();
    for (std::unique_ptr<EventDecoder>& decoder : lane.decoders) decoder = NewDecoder();
    lane.rekey_decoder =
        std::make_unique<RekeyRecordDecoder>(catalog_.get(), decoder_options_.hashed_fields);
    lane.outbox.resize(routes_.size());
    for (size_t r = 0; r < routes_.size(); ++r) lane.outbox[r].resize(routes_[r].partitions);
  }
  Lane& first = *lanes_.front();
  first.counts = so_far;
  absl::MutexLock lock(&first.mu);
  first.published = so_far;
}

int Pipeline::LaneOf(absl::string_view topic, PartitionId partition) const {
  if (!per_partition_ || lanes_.size() == 1) return 0;
  // Consecutive partitions of one topic go round the lanes.
  const uint64_t h = std::hash<std::string_view>{}(std::string_view(topic.data(), topic.size())) +
                     static_cast<uint64_t>(partition.value());
  return static_cast<int>(h % lanes_.size());
}

bool Pipeline::Routed(absl::string_view topic, PartitionId partition) const {
  const TopicPartitionId id = TaskIdOf(topic, partition);
  const std::string task = PartitionName(id.topic, id.partition);
  return tasks_.contains(task) && owned_.contains(task) &&
         next_offsets_.contains(PartitionName(topic, partition));
}

void Pipeline::EnsureRoute(absl::string_view topic, PartitionId partition) {
  PartitionTask* task = TaskFor(topic, partition);
  if (task == nullptr) return;
  const std::string name = PartitionName(topic, partition);
  SourceOffset& next = next_offsets_[name];
  if (next.topic.empty()) {
    next.topic = std::string(topic);
    next.partition = partition;
  }
  // A repartition task's sources are its records' origins.
  if (RouteOf(topic) == nullptr) task->SourceIndex(name);
}

void Pipeline::ResetCurrent() {
  for (std::unique_ptr<Lane>& lane : lanes_) lane->current = CurrentPartition();
}

bool Pipeline::OffsetsDirty() {
  for (std::unique_ptr<Lane>& lane : lanes_) {
    offsets_dirty_ |= lane->offsets_dirty;
    lane->offsets_dirty = false;
  }
  return offsets_dirty_;
}

Pipeline::Counts Pipeline::counts() const {
  Counts sum;
  for (const std::unique_ptr<Lane>& lane : lanes_) sum += lane->counts;
  return sum;
}

std::unique_ptr<EventDecoder> Pipeline::NewDecoder() const {
  return std::make_unique<EventDecoder>(format_, catalog_.get(), decoder_options_);
}

std::string Pipeline::PartitionName(absl::string_view topic, PartitionId partition) {
  return absl::StrCat(topic, "/", partition.value());
}

bool Pipeline::PerPartitionTasks(const DaemonConfig& config) {
  return PartitionedByKey(config.metrics, *config.catalog, config.kafka.key_field);
}

std::string Pipeline::RekeyTopicName(absl::string_view group_id, absl::string_view field_path) {
  std::string topic = absl::StrCat(group_id, "-rekey-", field_path);
  for (char& c : topic) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      c = '_';
    }
  }
  return topic;
}

absl::Status Pipeline::MakeRoutes(const std::vector<MetricDefinition>& metrics,
                                  const FieldCatalog& catalog) {
  ASSIGN_OR_RETURN(const std::vector<FieldId> fields, RekeyFields(metrics, catalog, key_field_));
  std::vector<RekeyRoute> routes;
  for (FieldId field : fields) {
    RekeyRoute& route = routes.emplace_back();
    route.topic = RekeyTopicName(group_id_, catalog.path(field));
    route.field = field;
    if (const RekeyRoute* was = RouteOf(route.topic)) route.partitions = was->partitions;
    auto accept = [&route](const Filter& filter) {
      route.any_name |= filter.names().empty();
      route.names.insert(filter.names().begin(), filter.names().end());
    };
    for (const MetricDefinition& m : metrics) {
      if (RekeyFieldOf(m, catalog, key_field_) != field) continue;
      accept(m.filter);
      if (m.window.kind == WindowKind::kCohort) accept(m.window.anchor);
    }
  }
  routes_ = std::move(routes);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Pipeline::EnableRekey(absl::string_view group_id) {
  group_id_ = std::string(group_id);
  rekey_prefix_ = RekeyTopicName(group_id, "");
  if (absl::Status s = MakeRoutes(metrics_, *catalog_); !s.ok() || routes_.empty()) {
    rekey_prefix_.clear();
    routes_.clear();
    if (!s.ok()) return s;
    return std::vector<std::string>();
  }
  per_partition_ = true;
  return rekey_topics();
}

void Pipeline::SetRekeyPartitions(const std::string& topic, int partitions) {
  for (size_t r = 0; r < routes_.size(); ++r) {
    if (routes_[r].topic != topic) continue;
    routes_[r].partitions = partitions;
    for (std::unique_ptr<Lane>& lane : lanes_) {
      lane->outbox.resize(routes_.size());
      lane->outbox[r].resize(partitions);
    }
  }
}

void Pipeline::SetRekeyOrigins(const std::vector<TopicPartitionId>& inputs) {
  rekey_origins_.clear();
  for (const TopicPartitionId& id : inputs) {
    rekey_origins_.push_back(PartitionName(id.topic, id.partition));
  }
  for (auto& [name, task] : tasks_) RegisterOrigins(task.get());
}

void Pipeline::RegisterOrigins(PartitionTask* task) const {
  if (RouteOf(task->id().topic) == nullptr) return;
  for (const std::string& origin : rekey_origins_) task->SourceIndex(origin);
}

std::vector<std::string> Pipeline::rekey_topics() const {
  std::vector<std::string> out;
  for (const RekeyRoute& route : routes_) out.push_back(route.topic);
  return out;
}

const Pipeline::RekeyRoute* Pipeline::RouteOf(absl::string_view topic) const {
  if (rekey_prefix_.empty() || !absl::StartsWith(topic, rekey_prefix_)) return nullptr;
  for (const RekeyRoute& route : routes_) {
    if (route.topic == topic) return &route;
  }
  return nullptr;
}

std::vector<MetricDefinition> Pipeline::MetricsOf(const TopicPartitionId& id,
                                                  const std::vector<MetricDefinition>& metrics,
                                                  const FieldCatalog& catalog) const {
  if (rekey_prefix_.empty()) return metrics;
  const RekeyRoute* route = RouteOf(id.topic);
  // An input task's metrics need no field; a route's its own.
  const std::string wanted = route == nullptr ? "" : catalog_->path(route->field);
  std::vector<MetricDefinition> out;
  for (const MetricDefinition& m : metrics) {
    if (m.measure.kind == MeasureKind::kRatio) continue;  // from the merged operands
    const std::optional<FieldId> field = RekeyFieldOf(m, catalog, key_field_);
    if ((field ? catalog.path(*field) : "") == wanted) out.push_back(m);
  }
  return out;
}

absl::Status Pipeline::LoadState() {
  ASSIGN_OR_RETURN(const std::vector<SourceOffset> offsets, store_->LoadOffsets());
  for (const SourceOffset& o : offsets) {
    checkpointed_[PartitionName(o.topic, o.partition)] = o.next_offset;
  }
  if (!per_partition_) {
    // The one task shows its numbers from the start, before any assignment.
    const TopicPartitionId whole = PartitionTask::WholeInput();
    ASSIGN_OR_RETURN(tasks_[PartitionName(whole.topic, whole.partition)], LoadTask(whole));
    owned_.insert(PartitionName(whole.topic, whole.partition));
  }
  return absl::OkStatus();
}

TopicPartitionId Pipeline::TaskIdOf(absl::string_view topic, PartitionId partition) const {
  if (!per_partition_) return PartitionTask::WholeInput();
  return TopicPartitionId{std::string(topic), partition};
}

absl::StatusOr<std::unique_ptr<PartitionTask>> Pipeline::LoadTask(const TopicPartitionId& id) {
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<PartitionTask> task,
                   PartitionTask::Load(id, MetricsOf(id, metrics_, *catalog_), engine_options_,
                                       *store_, retain_all_windows_));
  RegisterOrigins(task.get());
  for (const std::string& prefix : task->stale_prefixes()) {
    std::fprintf(stderr, "nsmd: dropping state of removed or redefined metric (%s)\n",
                 prefix.c_str());
  }
  RETURN_IF_ERROR(store_->DeletePrefixes(task->stale_prefixes()));
  const absl::Duration took = absl::Now() - start;
  if (took > absl::Seconds(1)) {
    std::fprintf(stderr, "nsmd: task %s loaded in %.3f s\n", task->name().c_str(),
                 absl::ToDoubleSeconds(took));
  }
  return task;
}

void Pipeline::set_changelog(TaskChangelog* changelog) {
  changelog_ = changelog;
  writer_->set_changelog(changelog);
}

absl::Status Pipeline::RestoreTask(const TopicPartitionId& id) {
  ASSIGN_OR_RETURN(const TaskChangelog::Restored r, changelog_->Restore(id, store_));
  const std::string name = PartitionName(id.topic, id.partition);
  if (r.input_next_offset) {
    checkpointed_[name] = *r.input_next_offset;
  } else {
    checkpointed_.erase(name);
  }
  std::fprintf(stderr,
               "nsmd: task %s restored from its changelog%s: %llu record(s), %llu row(s), %llu "
               "checkpoint(s) in %.3f s; resumes at %s\n",
               name.c_str(), r.from_start ? " (from its start)" : "",
               static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(r.rows),
               static_cast<unsigned long long>(r.checkpoints), absl::ToDoubleSeconds(r.elapsed),
               r.input_next_offset ? absl::StrCat("offset ", r.input_next_offset->value()).c_str()
                                   : "kafka.start_offset");
  if (probe_) probe_->OnTaskRestored(r.rows, r.elapsed);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SourceOffset>> Pipeline::AssignTasks(
    const std::vector<TopicPartitionId>& partitions) {
  for (const RekeyRoute& route : routes_) {
    if (route.partitions < 1) {
      return absl::FailedPreconditionError(absl::StrCat("the partition count of repartition topic ",
                                                        route.topic, " is not known yet"));
    }
  }
  Flush();
  std::vector<SourceOffset> resume;
  for (const TopicPartitionId& id : partitions) {
    const TopicPartitionId task_id = TaskIdOf(id.topic, id.partition);
    const std::string name = PartitionName(task_id.topic, task_id.partition);
    // A task still in memory (revoked, not yet dropped) is taken back as it
    // is; any other is first brought up to its changelog.
    if (changelog_ != nullptr && per_partition_ && !tasks_.contains(name)) {
      writer_->WaitIdle();  // the store is the writer's while it writes
      RETURN_IF_ERROR(RestoreTask(task_id));
    }
    if (!tasks_.contains(name)) {
      ASSIGN_OR_RETURN(tasks_[name], LoadTask(task_id));
    }
    owned_.insert(name);
    // Where the task's state stands: the checkpoint, plus whatever was
    // processed since (a revoke whose checkpoint failed keeps that in
    // memory, to be committed by a later checkpoint).
    if (std::optional<KafkaOffset> next = NextOffset(id.topic, id.partition)) {
      resume.push_back(SourceOffset{id.topic, id.partition, *next});
    } else if (std::optional<KafkaOffset> done = CheckpointedOffset(id.topic, id.partition)) {
      resume.push_back(SourceOffset{id.topic, id.partition, *done});
    }
  }
  ResetCurrent();
  return resume;
}

void Pipeline::RevokeTasks(const std::vector<TopicPartitionId>& partitions) {
  Flush();
  // The whole-input task stays: it holds every partition's share.
  if (!per_partition_) return;
  for (const TopicPartitionId& id : partitions) owned_.erase(PartitionName(id.topic, id.partition));
  ResetCurrent();
  const bool offsets_dirty = OffsetsDirty();
  if (!checkpoint_in_flight() && delta_.empty() && !offsets_dirty) DropRevokedTasks();
}

void Pipeline::DropRevokedTasks() {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    auto here = it++;
    if (owned_.contains(here->first)) continue;
    // Its rows are all written: what comes back later is loaded again.
    next_offsets_.erase(here->first);
    tasks_.erase(here);
  }
  ResetCurrent();
}

std::vector<TopicPartitionId> Pipeline::OwnedTasks() const {
  std::vector<TopicPartitionId> out;
  for (const std::string& name : owned_) out.push_back(tasks_.at(name)->id());
  std::sort(out.begin(), out.end());
  return out;
}

PartitionTask* Pipeline::TaskFor(absl::string_view topic, PartitionId partition) {
  const TopicPartitionId id = TaskIdOf(topic, partition);
  const std::string name = PartitionName(id.topic, id.partition);
  auto it = tasks_.find(name);
  if (it != tasks_.end()) {
    owned_.insert(name);
    return it->second.get();
  }
  absl::StatusOr<std::unique_ptr<PartitionTask>> task = LoadTask(id);
  if (!task.ok()) {
    std::fprintf(stderr, "nsmd: cannot load the state of %s (its messages wait): %s\n",
                 name.c_str(), task.status().ToString().c_str());
    return nullptr;
  }
  owned_.insert(name);
  return tasks_.emplace(name, std::move(*task)).first->second.get();
}

PartitionTask* Pipeline::Advance(Lane& lane, absl::string_view topic, PartitionId partition,
                                 KafkaOffset offset, bool may_load) {
  CurrentPartition& current = lane.current;
  if (partition != current.partition || topic != current.topic || current.task == nullptr) {
    const std::string name = PartitionName(topic, partition);
    PartitionTask* task = nullptr;
    SourceOffset* next = nullptr;
    if (may_load) {
      task = TaskFor(topic, partition);
      if (task == nullptr) return nullptr;
      next = &next_offsets_[name];
      if (next->topic.empty()) {
        next->topic = std::string(topic);
        next->partition = partition;
      }
    } else {
      // Lookups only: other lanes read these maps at the same time.
      const TopicPartitionId id = TaskIdOf(topic, partition);
      auto t = tasks_.find(PartitionName(id.topic, id.partition));
      auto o = next_offsets_.find(name);
      if (t == tasks_.end() || o == next_offsets_.end()) return nullptr;
      task = t->second.get();
      next = &o->second;
    }
    current.topic = std::string(topic);
    current.partition = partition;
    current.next = next;
    current.task = task;
    current.rekeyed = RouteOf(topic) != nullptr;
    // A repartition task's sources are its records' origins.
    current.source = current.rekeyed ? -1 : task->SourceIndex(name);
  }
  // Messages counts are of the input; records of a repartition topic are
  // events counted there already.
  if (!current.rekeyed) {
    ++lane.counts.consumed;
    current.task->CountConsumed();
  }
  // Whatever happens to the message, it has been dealt with: advance.
  current.next->next_offset = offset.Next();
  lane.offsets_dirty = true;
  return current.task;
}

void Pipeline::Reject(Lane& lane, PartitionTask* task, RejectReason reason,
                      const absl::Status& error, absl::string_view topic, PartitionId partition,
                      KafkaOffset offset, absl::string_view key, absl::string_view payload) {
  ++lane.counts.rejected[static_cast<size_t>(reason)];
  task->CountRejected(reason);
  absl::MutexLock lock(&reject_mu_);
  LogRejection(reason, error, topic, partition, offset);
  if (reject_sink_) reject_sink_(topic, partition, offset, key, payload, reason, error);
}

void Pipeline::Hold(Lane& lane, const Event& event, PartitionTask* task, int source,
                    KafkaOffset offset) {
  task->mutable_engine().Prefetch(event);
  Flush(lane);
  lane.held = HeldEvent{&event, task, source, offset, lane.current.rekeyed};
}

void Pipeline::Process(absl::string_view topic, PartitionId partition, KafkaOffset offset,
                       absl::string_view payload, absl::string_view key) {
  Lane& lane = *lanes_.front();
  if (RouteOf(topic) != nullptr) {
    // Rarely here (replays read no repartition topic): as a batch of one.
    DecodedBatch one;
    SourceMessage message{topic, partition, offset, key, payload};
    one.Add(message);
    one.Decode(lane.decoders[0].get(), lane.rekey_decoder.get(), rekey_prefix_);
    ProcessBatch(lane, one, /*may_load=*/true);
    return;
  }
  PartitionTask* task = Advance(lane, topic, partition, offset, /*may_load=*/true);
  if (task == nullptr) return;
  const Event* event = nullptr;
  RejectReason reason;
  absl::Status s = lane.decoders[lane.next_decoder]->Decode(payload, &event, &reason);
  if (!s.ok()) {
    Reject(lane, task, reason, s, topic, partition, offset, key, payload);
    return;
  }
  task->mutable_engine().PrefetchId(*event);
  Hold(lane, *event, task, lane.current.source, offset);
  lane.next_decoder ^= 1;
}

void Pipeline::ProcessBatch(const DecodedBatch& batch) {
  ProcessBatch(*lanes_.front(), batch, /*may_load=*/true);
}

void Pipeline::ProcessLaneBatch(int lane_index, DecodedBatch* batch) {
  DecodeLaneBatch(lane_index, batch);
  ApplyLaneBatch(lane_index, *batch);
}

void Pipeline::DecodeLaneBatch(int lane_index, DecodedBatch* batch) {
  Lane& lane = *lanes_[lane_index];
  batch->Decode(lane.decoders[0].get(), lane.rekey_decoder.get(), rekey_prefix_);
}

void Pipeline::ApplyLaneBatch(int lane_index, const DecodedBatch& batch) {
  Lane& lane = *lanes_[lane_index];
  ProcessBatch(lane, batch, /*may_load=*/false);
  absl::MutexLock lock(&lane.mu);
  lane.published = lane.counts;
}

void Pipeline::ProcessBatch(Lane& lane, const DecodedBatch& batch, bool may_load) {
  const CurrentPartition& current = lane.current;
  // Ahead of the task lookup: the slot of the task at hand (consecutive
  // messages mostly come from one partition).
  auto prefetch_id = [&](size_t i) {
    if (i < batch.size() && batch[i].event != nullptr && current.task != nullptr &&
        batch[i].source.partition == current.partition) {
      current.task->mutable_engine().PrefetchId(*batch[i].event);
    }
  };
  for (size_t i = 0; i < kIdPrefetchDistance; ++i) prefetch_id(i);
  for (size_t i = 0; i < batch.size(); ++i) {
    prefetch_id(i + kIdPrefetchDistance);
    const DecodedBatch::Message& m = batch[i];
    const SourceMessage& at = m.source;
    PartitionTask* task = Advance(lane, at.topic, at.partition, at.offset, may_load);
    if (task == nullptr) continue;
    if (m.event == nullptr) {
      Reject(lane, task, m.reason, m.error, at.topic, at.partition, at.offset, at.key, at.payload);
      continue;
    }
    int source = current.source;
    if (current.rekeyed) {
      source = task->SourceIndex(m.origin.source);
      if (!task->TakeOrigin(source, m.origin.source, *m.origin.offset)) continue;  // sent again
    }
    Hold(lane, *m.event, task, source, at.offset);
  }
  Flush(lane);  // the held event lives in the batch
}

void Pipeline::Flush() {
  for (std::unique_ptr<Lane>& lane : lanes_) Flush(*lane);
}

void Pipeline::Flush(Lane& lane) {
  if (lane.held.event == nullptr) return;
  const HeldEvent held = lane.held;
  lane.held = HeldEvent();
  const Engine::Outcome outcome = held.task->Apply(*held.event, held.source);
  if (held.rekeyed) return;  // counted where it was read
  switch (outcome) {
    case Engine::Outcome::kApplied:
      ++lane.counts.applied;
      if (!routes_.empty()) Route(lane, held);
      break;
    case Engine::Outcome::kLate: ++lane.counts.late; break;
    case Engine::Outcome::kDuplicate: ++lane.counts.duplicate; break;
  }
}

void Pipeline::Route(Lane& lane, const HeldEvent& held) {
  const Event& event = *held.event;
  for (size_t r = 0; r < routes_.size(); ++r) {
    const RekeyRoute& route = routes_[r];
    if (!route.any_name && !route.names.contains(event.name)) continue;
    const FieldValue& key = event.field(route.field);
    if (!key.IsKey()) continue;  // no entity: none of its metrics counts it
    const uint64_t partition =
        absl::Uint128Low64(key.KeyHash()) % static_cast<uint64_t>(route.partitions);
    ChangelogRecord& record = lane.outbox[r][partition].emplace_back();
    key.AppendKeyText(&record.key);
    EncodeRekeyRecord(event, *catalog_, RekeyOrigin{held.task->name(), held.offset},
                      &record.value.emplace());
  }
}

std::vector<ChangelogProducer::PartitionRecords> Pipeline::TakeRekeyed() {
  std::vector<ChangelogProducer::PartitionRecords> out = std::move(rekey_retry_);
  rekey_retry_.clear();
  std::map<TopicPartitionId, size_t> at;
  for (size_t i = 0; i < out.size(); ++i) at[out[i].partition] = i;
  for (std::unique_ptr<Lane>& lane : lanes_) {
    for (size_t r = 0; r < lane->outbox.size(); ++r) {
      for (size_t p = 0; p < lane->outbox[r].size(); ++p) {
        std::vector<ChangelogRecord>& records = lane->outbox[r][p];
        if (records.empty()) continue;
        TopicPartitionId id{routes_[r].topic, PartitionId(static_cast<int32_t>(p))};
        auto [it, fresh] = at.emplace(id, out.size());
        if (fresh) out.push_back({std::move(id), {}});
        std::vector<ChangelogRecord>& to = out[it->second].records;
        to.insert(to.end(), std::make_move_iterator(records.begin()),
                  std::make_move_iterator(records.end()));
        records.clear();
      }
    }
  }
  return out;
}

void Pipeline::LogRejection(RejectReason reason, const absl::Status& status,
                            absl::string_view topic, PartitionId partition, KafkaOffset offset) {
  const absl::Time now = absl::Now();
  ++rejects_since_log_;
  if (now - last_reject_log_ < kRejectLogInterval) return;
  std::fprintf(stderr, "nsmd: rejected message %s/%d@%lld (%s): %s", std::string(topic).c_str(),
               partition.value(), static_cast<long long>(offset.value()),
               std::string(RejectReasonName(reason)).c_str(),
               std::string(status.message()).c_str());
  if (rejects_since_log_ > 1) {
    std::fprintf(stderr, " (%llu rejected since the last report)",
                 static_cast<unsigned long long>(rejects_since_log_));
  }
  std::fputc('\n', stderr);
  last_reject_log_ = now;
  rejects_since_log_ = 0;
}

void Pipeline::ReportCounts() {
  Flush();
  for (std::unique_ptr<Lane>& lane : lanes_) {
    absl::MutexLock lock(&lane->mu);
    lane->published = lane->counts;
  }
  ReportLaneCounts();
}

void Pipeline::ReportLaneCounts() {
  if (probe_ == nullptr) return;
  Counts now;
  for (std::unique_ptr<Lane>& lane : lanes_) {
    absl::MutexLock lock(&lane->mu);
    now += lane->published;
  }
  Counts& was = reported_;
  if (now.consumed != was.consumed) probe_->OnConsumed(now.consumed - was.consumed);
  if (now.applied != was.applied) probe_->OnApplied(now.applied - was.applied);
  if (now.late != was.late) probe_->OnLate(now.late - was.late);
  if (now.duplicate != was.duplicate) probe_->OnDuplicate(now.duplicate - was.duplicate);
  for (RejectReason r : kAllRejectReasons) {
    const auto i = static_cast<size_t>(r);
    if (now.rejected[i] != was.rejected[i])
      probe_->OnRejected(r, now.rejected[i] - was.rejected[i]);
  }
  was = now;
}

absl::Status Pipeline::Checkpoint() {
  // A write in flight first; if it failed, its changes are pending again and
  // the write below retries them.
  if (std::optional<absl::Status> s = FinishCheckpoint(/*wait=*/true); s && !s->ok()) {
    std::fprintf(stderr, "nsmd: checkpoint in flight failed (written again now): %s\n",
                 s->ToString().c_str());
  }
  StartCheckpoint();
  return FinishCheckpoint(/*wait=*/true).value_or(absl::OkStatus());
}

void Pipeline::StartCheckpoint() {
  Flush();
  // Changes taken from the engine accumulate in delta_ until a commit
  // succeeds, so a failed commit loses nothing.
  for (auto& [name, task] : tasks_) task->TakeDelta(&delta_);
  const bool offsets_dirty = OffsetsDirty();
  std::vector<ChangelogProducer::PartitionRecords> rekeyed = TakeRekeyed();
  if (delta_.empty() && !offsets_dirty && rekeyed.empty()) {
    // Nothing to write: the stored checkpoint is current, which is a success.
    last_checkpoint_ = absl::Now();
    if (probe_) probe_->OnCheckpointUnchanged();
    DropRevokedTasks();
    return;
  }
  writer_->Start(std::move(delta_), NextOffsets(), std::move(rekeyed));
  delta_.Clear();
  offsets_dirty_ = false;
}

std::optional<absl::Status> Pipeline::FinishCheckpoint(bool wait) {
  std::optional<CheckpointWriter::Result> done = writer_->Finish(wait);
  if (!done) return std::nullopt;
  if (!done->status.ok()) {
    // Its changes are older than anything taken since: newer ones win.
    done->delta.Absorb(&delta_);
    delta_ = std::move(done->delta);
    rekey_retry_ = std::move(done->rekeyed);
    offsets_dirty_ = true;
    if (probe_) probe_->OnCheckpointFailure();
    return done->status;
  }
  for (const SourceOffset& o : done->offsets) {
    checkpointed_[PartitionName(o.topic, o.partition)] = o.next_offset;
  }
  checkpointed_offsets_ = std::move(done->offsets);
  last_checkpoint_ = absl::Now();
  ++checkpoints_written_;
  if (probe_) {
    probe_->OnCheckpoint(done->elapsed, done->keys);
    probe_->SetStreamTime(stream_time());
  }
  if (const bool offsets_dirty = OffsetsDirty(); delta_.empty() && !offsets_dirty) {
    DropRevokedTasks();
  }
  return absl::OkStatus();
}

bool Pipeline::checkpoint_in_flight() const { return writer_->busy(); }

std::optional<KafkaOffset> Pipeline::CheckpointedOffset(absl::string_view topic,
                                                        PartitionId partition) const {
  auto it = checkpointed_.find(PartitionName(topic, partition));
  if (it == checkpointed_.end()) return std::nullopt;
  return it->second;
}

std::optional<KafkaOffset> Pipeline::NextOffset(absl::string_view topic,
                                                PartitionId partition) const {
  auto it = next_offsets_.find(PartitionName(topic, partition));
  if (it == next_offsets_.end()) return std::nullopt;
  return it->second.next_offset;
}

std::vector<SourceOffset> Pipeline::NextOffsets() const {
  std::vector<SourceOffset> out;
  out.reserve(next_offsets_.size());
  for (const auto& [name, o] : next_offsets_) out.push_back(o);
  return out;
}

absl::Status Pipeline::Reload(const DaemonConfig& config) {
  // Every step that can fail comes before the new engines replace the old
  // ones, so a failed reload changes nothing: the old definitions, decoders,
  // tasks and state keep running, and the store keeps every row.
  RETURN_IF_ERROR(Checkpoint());
  RETURN_IF_ERROR(Engine::Create(config.metrics, config.engine).status());
  if (!routes_.empty()) {
    // The repartition topics and what the tasks hold must stay as they are.
    ASSIGN_OR_RETURN(const std::vector<FieldId> fields,
                     RekeyFields(config.metrics, *config.catalog, key_field_));
    std::vector<std::string> paths, now;
    for (FieldId f : fields) paths.push_back(config.catalog->path(f));
    for (const RekeyRoute& route : routes_) now.push_back(catalog_->path(route.field));
    if (paths != now) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the new definitions re-key by ", paths.empty() ? "nothing" : absl::StrJoin(paths, ", "),
          " instead of ", absl::StrJoin(now, ", "),
          " (see `nsmd check`); restart nsmd with an empty state dir to rebuild the state"));
    }
  } else if (PerPartitionTasks(config) != per_partition_) {
    return absl::FailedPreconditionError(
        "the new definitions need the state split differently (one task per partition, or one "
        "for the whole input: see `nsmd check`); restart nsmd with an empty state dir to "
        "rebuild it from the input");
  }
  // Unchanged metrics (same fingerprint) find their rows again; the rest
  // start empty and their old rows are deleted as stale.
  absl::flat_hash_map<std::string, std::unique_ptr<PartitionTask>> fresh;
  std::vector<std::string> stale;
  for (const auto& [name, task] : tasks_) {
    ASSIGN_OR_RETURN(
        fresh[name],
        PartitionTask::Load(task->id(), MetricsOf(task->id(), config.metrics, *config.catalog),
                            config.engine, *store_, retain_all_windows_));
    RegisterOrigins(fresh[name].get());
    const std::vector<std::string>& prefixes = fresh[name]->stale_prefixes();
    stale.insert(stale.end(), prefixes.begin(), prefixes.end());
  }
  // One atomic deletion: on error (e.g. a full disk) no row is gone, so the
  // old engines' state is still all on disk.
  RETURN_IF_ERROR(store_->DeletePrefixes(stale));
  for (const std::string& prefix : stale) {
    std::fprintf(stderr, "nsmd: reload dropped state of removed or redefined metric (%s)\n",
                 prefix.c_str());
  }
  for (const MetricDefinition& m : config.metrics) {
    bool existed = false;
    for (const MetricDefinition& o : metrics_) {
      existed |= o.name == m.name && o.fingerprint == m.fingerprint;
    }
    if (!existed) std::fprintf(stderr, "nsmd: reload: metric %s starts empty\n", m.name.c_str());
  }
  tasks_ = std::move(fresh);
  metrics_ = config.metrics;
  engine_options_ = config.engine;
  if (!routes_.empty()) {
    // Same fields (checked above): only the accepted names change.
    if (absl::Status s = MakeRoutes(config.metrics, *config.catalog); !s.ok()) return s;
  }
  catalog_ = config.catalog;
  MakeDecoders(config);
  ResetCurrent();
  return absl::OkStatus();
}

void Pipeline::UpdateSources(
    const std::vector<std::tuple<std::string, PartitionId, bool>>& partitions, bool others_idle,
    const std::vector<std::string>& held_topics) {
  // A task of its own partition needs none of this: it has one source.
  if (per_partition_) return;
  const TopicPartitionId whole = PartitionTask::WholeInput();
  auto it = tasks_.find(PartitionName(whole.topic, whole.partition));
  if (it == tasks_.end()) return;
  absl::flat_hash_map<std::string, bool> active_idle;
  for (const auto& [topic, partition, idle] : partitions) {
    active_idle[PartitionName(topic, partition)] = idle;
  }
  std::vector<std::string> held_prefixes;
  for (const std::string& topic : held_topics) held_prefixes.push_back(absl::StrCat(topic, "/"));
  it->second->mutable_engine().SetSourceActivity(active_idle, others_idle, held_prefixes);
}

EventCounts Pipeline::OwnedTaskCounts() const {
  EventCounts sum;
  for (const std::string& name : owned_) {
    const PartitionTask& task = *tasks_.at(name);
    if (RouteOf(task.id().topic) == nullptr) sum += task.counts();  // not an input's
  }
  return sum;
}

EventTime Pipeline::stream_time() const {
  EventTime now;
  for (const std::string& name : owned_) {
    now = std::max(now, tasks_.at(name)->engine().stream_time());
  }
  return now;
}

MetricsSnapshot Pipeline::Snapshot() const {
  MetricsSnapshot snapshot;
  snapshot.stream_time = stream_time();
  SeriesMerge merge(&metrics_);
  if (snapshot.stream_time != EventTime()) {
    for (const std::string& name : owned_) {
      merge.Add(tasks_.at(name)->engine().Samples(snapshot.stream_time));
    }
  }
  snapshot.samples = merge.Finish();
  return snapshot;
}

std::vector<SeriesSample> Pipeline::AllWindows() const {
  const EventTime now = stream_time();
  SeriesMerge merge(&metrics_);
  for (const std::string& name : owned_) merge.Add(tasks_.at(name)->engine().WindowSamples(now));
  std::vector<SeriesSample> out = merge.Finish();
  SortWindows(&out);
  return out;
}

void Pipeline::set_retain_all_windows(bool retain) {
  retain_all_windows_ = retain;
  for (auto& [name, task] : tasks_) task->mutable_engine().set_retain_all_windows(retain);
}

}  // namespace nsmd
