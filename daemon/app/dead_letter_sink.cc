#include "daemon/app/dead_letter_sink.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/base/status_macros.h"

namespace nsmd {
namespace {

// What an oversized message is cut to.
constexpr size_t kTruncateBytes = 64 * 1024;

}  // namespace

absl::StatusOr<std::unique_ptr<DeadLetterSink>> DeadLetterSink::Create(const KafkaConfig& kafka,
                                                                       PipelineProbe* probe) {
  // Every rejected message but an oversized one (cut to kTruncateBytes) is
  // at most kafka.max_message_bytes, which the client must let through, with
  // room for the headers.
  std::map<std::string, std::string> properties = kafka.properties;
  properties["message.max.bytes"] =
      absl::StrCat(std::clamp<int64_t>(kafka.max_message_bytes + 65536, 1000000, 1000000000));
  ASSIGN_OR_RETURN(std::unique_ptr<KafkaProducer> producer,
                   KafkaProducer::Create(kafka.brokers, properties));
  return std::unique_ptr<DeadLetterSink>(
      new DeadLetterSink(kafka.dead_letter_topic, std::move(producer), probe));
}

DeadLetterSink::DeadLetterSink(std::string topic, std::unique_ptr<KafkaProducer> producer,
                               PipelineProbe* probe)
    : topic_(std::move(topic)), producer_(std::move(producer)), probe_(probe) {}

void DeadLetterSink::Add(absl::string_view source_topic, PartitionId partition, KafkaOffset offset,
                         absl::string_view key, absl::string_view payload, RejectReason reason,
                         const absl::Status& error) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"nsmd-reject-reason", std::string(RejectReasonName(reason))},
      {"nsmd-error", std::string(error.message())},
      {"nsmd-source-topic", std::string(source_topic)},
      {"nsmd-source-partition", absl::StrCat(partition.value())},
      {"nsmd-source-offset", absl::StrCat(offset.value())}};
  if (reason == RejectReason::kOversized && payload.size() > kTruncateBytes) {
    headers.emplace_back("nsmd-truncated-from", absl::StrCat(payload.size()));
    payload = payload.substr(0, kTruncateBytes);
  }
  // With the original key, so a keyed topic keeps related dead letters
  // together.
  absl::Status s = producer_->ProduceWithHeaders(topic_, key, payload, headers);
  probe_->OnDeadLettered();
  pending_ = true;
  if (!s.ok()) {
    std::fprintf(stderr, "nsmd: cannot produce to dead-letter topic %s yet: %s\n", topic_.c_str(),
                 s.ToString().c_str());
  }
}

absl::Status DeadLetterSink::Flush() {
  if (!pending_) return absl::OkStatus();
  if (absl::Status s = producer_->Flush(absl::Seconds(5)); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("dead-letter topic not yet written: ", s.message()));
  }
  pending_ = false;
  return absl::OkStatus();
}

}  // namespace nsmd
