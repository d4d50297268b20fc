#include "daemon/app/pipeline.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/app/checkpoint_writer.h"
#include "daemon/base/status_macros.h"
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

uint64_t Pipeline::Counts::rejected_total() const {
  uint64_t n = 0;
  for (uint64_t r : rejected) n += r;
  return n;
}

Pipeline::Pipeline(StateStore* store, PipelineProbe* probe)
    : store_(store), probe_(probe), writer_(std::make_unique<CheckpointWriter>(store)) {}

Pipeline::~Pipeline() = default;

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const DaemonConfig& config,
                                                           StateStore* store,
                                                           PipelineProbe* probe) {
  std::unique_ptr<Pipeline> p(new Pipeline(store, probe));
  ASSIGN_OR_RETURN(p->engine_, Engine::Create(config.metrics, config.engine));
  p->catalog_ = config.catalog;
  p->MakeDecoders(config);
  return p;
}

void Pipeline::MakeDecoders(const DaemonConfig& config) {
  format_ = config.format;
  decoder_options_ = DecoderOptions(config);
  for (std::unique_ptr<EventDecoder>& decoder : decoders_) decoder = NewDecoder();
  next_decoder_ = 0;
}

std::unique_ptr<EventDecoder> Pipeline::NewDecoder() const {
  return std::make_unique<EventDecoder>(format_, catalog_.get(), decoder_options_);
}

std::string Pipeline::PartitionName(absl::string_view topic, int32_t partition) {
  return absl::StrCat(topic, "/", partition);
}

absl::Status Pipeline::LoadState() {
  const absl::Time start = absl::Now();
  uint64_t rows = 0, bytes = 0;
  absl::Status s = store_->ScanEngineState(
      [this, &rows, &bytes](absl::string_view key, absl::string_view value) {
        ++rows;
        bytes += key.size() + value.size();
        return engine_->Restore(key, value);
      });
  RETURN_IF_ERROR(s);
  engine_->FinishRestore();
  std::fprintf(stderr, "nsmd: state loaded: %llu rows (%llu bytes of keys and values) in %.3f s\n",
               static_cast<unsigned long long>(rows), static_cast<unsigned long long>(bytes),
               absl::ToDoubleSeconds(absl::Now() - start));
  for (const std::string& prefix : engine_->stale_prefixes()) {
    std::fprintf(stderr, "nsmd: dropping state of removed or redefined metric (%s)\n",
                 prefix.c_str());
    RETURN_IF_ERROR(store_->DeletePrefix(prefix));
  }
  ASSIGN_OR_RETURN(const std::vector<SourceOffset> offsets, store_->LoadOffsets());
  for (const SourceOffset& o : offsets) {
    const std::string name = PartitionName(o.topic, o.partition);
    checkpointed_[name] = o.next_offset;
    next_offsets_[name] = o;
  }
  return absl::OkStatus();
}

int Pipeline::SourceIndex(absl::string_view topic, int32_t partition) {
  std::string name = PartitionName(topic, partition);
  auto it = sources_.find(name);
  if (it != sources_.end()) return it->second;
  int index = engine_->RegisterSource(name);
  sources_.emplace(std::move(name), index);
  return index;
}

void Pipeline::UpdateSources(const std::vector<std::tuple<std::string, int32_t, bool>>& partitions,
                             bool others_idle, const std::vector<std::string>& held_topics) {
  absl::flat_hash_map<std::string, bool> active_idle;
  for (const auto& [topic, partition, idle] : partitions) {
    active_idle[PartitionName(topic, partition)] = idle;
  }
  std::vector<std::string> held_prefixes;
  for (const std::string& topic : held_topics) held_prefixes.push_back(absl::StrCat(topic, "/"));
  engine_->SetSourceActivity(active_idle, others_idle, held_prefixes);
}

int Pipeline::Advance(absl::string_view topic, int32_t partition, int64_t offset) {
  ++counts_.consumed;
  if (partition != current_.partition || topic != current_.topic) {
    SourceOffset& next = next_offsets_[PartitionName(topic, partition)];
    if (next.topic.empty()) {
      next.topic = std::string(topic);
      next.partition = partition;
    }
    current_.topic = std::string(topic);
    current_.partition = partition;
    current_.next = &next;
    current_.source = SourceIndex(topic, partition);
  }
  // Whatever happens to the message, it has been dealt with: advance.
  current_.next->next_offset = offset + 1;
  offsets_dirty_ = true;
  return current_.source;
}

void Pipeline::Reject(RejectReason reason, const absl::Status& error, absl::string_view topic,
                      int32_t partition, int64_t offset, absl::string_view key,
                      absl::string_view payload) {
  ++counts_.rejected[static_cast<size_t>(reason)];
  LogRejection(reason, error, topic, partition, offset);
  if (reject_sink_) reject_sink_(topic, partition, offset, key, payload, reason, error);
}

void Pipeline::Hold(const Event& event, int source) {
  engine_->Prefetch(event);
  Flush();
  held_ = HeldEvent{&event, source};
}

void Pipeline::Process(absl::string_view topic, int32_t partition, int64_t offset,
                       absl::string_view payload, absl::string_view key) {
  const int source = Advance(topic, partition, offset);
  const Event* event = nullptr;
  RejectReason reason;
  absl::Status s = decoders_[next_decoder_]->Decode(payload, &event, &reason);
  if (!s.ok()) {
    Reject(reason, s, topic, partition, offset, key, payload);
    return;
  }
  engine_->PrefetchId(*event);
  Hold(*event, source);
  next_decoder_ ^= 1;
}

void Pipeline::ProcessBatch(const DecodedBatch& batch) {
  auto prefetch_id = [&](size_t i) {
    if (i < batch.size() && batch[i].event != nullptr) engine_->PrefetchId(*batch[i].event);
  };
  for (size_t i = 0; i < kIdPrefetchDistance; ++i) prefetch_id(i);
  for (size_t i = 0; i < batch.size(); ++i) {
    prefetch_id(i + kIdPrefetchDistance);
    const DecodedBatch::Message& m = batch[i];
    const SourceMessage& at = m.source;
    const int source = Advance(at.topic, at.partition, at.offset);
    if (m.event == nullptr) {
      Reject(m.reason, m.error, at.topic, at.partition, at.offset, at.key, at.payload);
    } else {
      Hold(*m.event, source);
    }
  }
  Flush();  // the held event lives in the batch
}

void Pipeline::Flush() {
  if (held_.event == nullptr) return;
  const HeldEvent held = held_;
  held_ = HeldEvent();
  switch (engine_->Apply(*held.event, held.source)) {
    case Engine::Outcome::kApplied: ++counts_.applied; break;
    case Engine::Outcome::kLate: ++counts_.late; break;
    case Engine::Outcome::kDuplicate: ++counts_.duplicate; break;
  }
}

void Pipeline::LogRejection(RejectReason reason, const absl::Status& status,
                            absl::string_view topic, int32_t partition, int64_t offset) {
  const absl::Time now = absl::Now();
  ++rejects_since_log_;
  if (now - last_reject_log_ < kRejectLogInterval) return;
  std::fprintf(stderr, "nsmd: rejected message %s/%d@%lld (%s): %s", std::string(topic).c_str(),
               partition, static_cast<long long>(offset),
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
  if (probe_ == nullptr) return;
  const Counts& now = counts_;
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
  engine_->TakeDelta(&delta_);
  if (delta_.empty() && !offsets_dirty_) {
    // Nothing to write: the stored checkpoint is current, which is a success.
    last_checkpoint_ = absl::Now();
    if (probe_) probe_->OnCheckpointUnchanged();
    return;
  }
  writer_->Start(std::move(delta_), NextOffsets());
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
    probe_->SetStreamTime(engine_->stream_time_ms());
  }
  return absl::OkStatus();
}

bool Pipeline::checkpoint_in_flight() const { return writer_->busy(); }

std::optional<int64_t> Pipeline::CheckpointedOffset(absl::string_view topic,
                                                    int32_t partition) const {
  auto it = checkpointed_.find(PartitionName(topic, partition));
  if (it == checkpointed_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> Pipeline::NextOffset(absl::string_view topic, int32_t partition) const {
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
  // Every step that can fail comes before the new engine replaces the old
  // one, so a failed reload changes nothing: the old definitions, decoders,
  // sources and state keep running, and the store keeps every row.
  RETURN_IF_ERROR(Checkpoint());
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> fresh, Engine::Create(config.metrics, config.engine));
  // Unchanged metrics (same fingerprint) find their rows again; the rest
  // start empty and their old rows are deleted as stale.
  RETURN_IF_ERROR(store_->ScanEngineState([&fresh](absl::string_view key, absl::string_view value) {
    return fresh->Restore(key, value);
  }));
  fresh->FinishRestore();
  // One atomic deletion: on error (e.g. a full disk) no row is gone, so the
  // old engine's state is still all on disk.
  RETURN_IF_ERROR(store_->DeletePrefixes(fresh->stale_prefixes()));
  for (const std::string& prefix : fresh->stale_prefixes()) {
    std::fprintf(stderr, "nsmd: reload dropped state of removed or redefined metric (%s)\n",
                 prefix.c_str());
  }
  for (const MetricDefinition& m : config.metrics) {
    bool existed = false;
    for (const MetricDefinition& o : engine_->metrics()) {
      existed |= o.name == m.name && o.fingerprint == m.fingerprint;
    }
    if (!existed) std::fprintf(stderr, "nsmd: reload: metric %s starts empty\n", m.name.c_str());
  }
  engine_ = std::move(fresh);
  catalog_ = config.catalog;
  MakeDecoders(config);
  sources_.clear();
  current_ = CurrentPartition();
  return absl::OkStatus();
}

}  // namespace nsmd
