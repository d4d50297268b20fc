#include "daemon/app/partition_task.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/base/status_macros.h"

namespace nsmd {
namespace {

// The task's EventCounts, next to the engine's rows ("m/", "s/", "x/").
constexpr absl::string_view kCountsKey = "n";
// "h/<origin source>": a repartition task's next origin offset (decimal).
constexpr absl::string_view kOriginPrefix = "h/";

}  // namespace

std::string PartitionTask::KeyPrefix(const TopicPartitionId& id) {
  if (id == WholeInput()) return "t/*/";
  return absl::StrCat("t/", id.topic, "/", id.partition.value(), "/");
}

PartitionTask::PartitionTask(TopicPartitionId id, std::unique_ptr<Engine> engine)
    : id_(std::move(id)),
      name_(absl::StrCat(id_.topic, "/", id_.partition.value())),
      prefix_(KeyPrefix(id_)),
      engine_(std::move(engine)) {}

absl::StatusOr<std::unique_ptr<PartitionTask>> PartitionTask::Load(
    TopicPartitionId id, const std::vector<MetricDefinition>& metrics, const EngineOptions& options,
    const StateStore& store, bool retain_all_windows) {
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Create(metrics, options));
  engine->set_retain_all_windows(retain_all_windows);
  std::unique_ptr<PartitionTask> task(new PartitionTask(std::move(id), std::move(engine)));
  PartitionTask* t = task.get();
  RETURN_IF_ERROR(store.ScanEngineStateUnder(task->prefix_,
                                             [t](absl::string_view key, absl::string_view value) {
                                               if (key == kCountsKey)
                                                 return EventCounts::Decode(value, &t->counts_);
                                               if (absl::StartsWith(key, kOriginPrefix))
                                                 return t->RestoreOrigin(key, value);
                                               return t->engine_->Restore(key, value);
                                             }));
  task->persisted_counts_ = task->counts_;
  Engine* e = task->engine_.get();
  e->FinishRestore();
  for (const std::string& stale : e->stale_prefixes()) {
    task->stale_prefixes_.push_back(task->prefix_ + stale);
  }
  return task;
}

absl::Status PartitionTask::RestoreOrigin(absl::string_view key, absl::string_view value) {
  int64_t next = 0;
  if (!absl::SimpleAtoi(value, &next)) {
    return absl::DataLossError(absl::StrCat("bad origin offset row \"", key, "\""));
  }
  const absl::string_view name = key.substr(kOriginPrefix.size());
  const int source = engine_->RegisterSource(name);
  if (static_cast<size_t>(source) >= origins_.size()) origins_.resize(source + 1);
  origins_[source] = OriginMark{std::string(name), KafkaOffset(next), false};
  return absl::OkStatus();
}

bool PartitionTask::TakeOrigin(int source, absl::string_view source_name, KafkaOffset offset) {
  if (static_cast<size_t>(source) >= origins_.size()) origins_.resize(source + 1);
  OriginMark& mark = origins_[source];
  if (offset < mark.next) return false;
  if (mark.name.empty()) mark.name = std::string(source_name);
  mark.next = offset.Next();
  mark.dirty = true;
  return true;
}

void PartitionTask::TakeDelta(StateDelta* delta) {
  engine_->TakeDelta(&scratch_);
  for (OriginMark& mark : origins_) {
    if (!mark.dirty) continue;
    scratch_.Put(absl::StrCat(kOriginPrefix, mark.name), absl::StrCat(mark.next.value()));
    mark.dirty = false;
  }
  if (counts_ != persisted_counts_) {
    scratch_.Put(kCountsKey, counts_.Encode());
    persisted_counts_ = counts_;
  }
  delta->AbsorbUnder(prefix_, &scratch_);
}

}  // namespace nsmd
