// RekeyRecord: a decoded event on its way to the task of another field's
// partition (a repartition topic's record), and back to an Event.
#ifndef NSMD_DAEMON_DECODE_REKEY_RECORD_H_
#define NSMD_DAEMON_DECODE_REKEY_RECORD_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "daemon/base/kafka_offset.h"
#include "daemon/decode/event.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/decode/reject_reason.h"

namespace nsmd {

// Where a re-keyed event was first read: its input partition ("<topic>/
// <partition>", an engine source name) and offset there. A task of the
// repartition topic applies records of one origin in offset order and skips
// one at or below the last it applied: a record written again after its
// producer failed before its checkpoint completed.
struct RekeyOrigin {
  absl::string_view source;
  std::optional<KafkaOffset> offset;  // none for a message not re-keyed
};

// Appends to *out the record of `event` read at `origin`: its name, time,
// id and every field present (by catalog path, so a reload that renumbers
// the fields reads it right), not the message it came from. Format
// (rekey_record.cc) version 1.
void EncodeRekeyRecord(const Event& event, const FieldCatalog& catalog, const RekeyOrigin& origin,
                       std::string* out);

// Decodes rekey records into Events for one catalog, reusing its buffers.
// Not thread-safe: one per thread.
class RekeyRecordDecoder {
 public:
  // `catalog` must outlive the decoder; `hashed_fields` get their key_hash
  // as EventDecoderOptions::hashed_fields do.
  RekeyRecordDecoder(const FieldCatalog* catalog, std::vector<FieldId> hashed_fields);

  // Decodes `bytes`: on success sets *event and *origin, valid until the
  // next call. A path the catalog does not hold (a field no metric reads
  // since a reload) is skipped. InvalidArgument (reason kInvalidJson) on
  // bytes that are not a version 1 record.
  [[nodiscard]] absl::Status Decode(absl::string_view bytes, const Event** event,
                                    RejectReason* reason, RekeyOrigin* origin);

 private:
  const FieldCatalog* catalog_;
  std::vector<FieldId> hashed_fields_;
  std::string buffer_;  // a copy of the record: the views point into it
  std::string scratch_;
  Event event_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_REKEY_RECORD_H_
