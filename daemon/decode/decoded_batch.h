// DecodedBatch: source messages decoded ahead of the engine, owning their bytes.
#ifndef NSMD_DAEMON_DECODE_DECODED_BATCH_H_
#define NSMD_DAEMON_DECODE_DECODED_BATCH_H_

#include <cstddef>
#include <deque>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "daemon/base/source_message.h"
#include "daemon/decode/event.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/reject_reason.h"
#include "daemon/decode/rekey_record.h"

namespace nsmd {

// A run of messages taken from a source, then decoded in one go, so that one
// thread can decode a batch while another applies the batch before it. A
// message's bytes are borrowed from the source while it lends them
// (SourceMessage::lease), else copied. Each decoded event's strings are
// copied into the batch, so its events stay valid after the decoder has
// moved on, until Clear(); then the source's bytes are returned at once.
// Buffers are kept across Clear(), so a reused batch allocates nothing once
// it has held messages as large as the current ones. Not thread-safe: one
// thread at a time (the hand-over between threads must synchronise).
class DecodedBatch {
 public:
  // One message of the batch; its views point into the batch.
  struct Message {
    // Topic, partition, offset; key and payload only of a rejected message
    // (for a dead-letter topic): a decoded one's bytes went back to the
    // source.
    SourceMessage source;
    // The decoded event, or null when the message was rejected (or not
    // decoded yet); then `reason` and `error` say why.
    const Event* event = nullptr;
    RejectReason reason = RejectReason::kInvalidJson;
    absl::Status error;
    // A decoded rekey record's origin (its source view points into the
    // batch); no offset for any other message.
    RekeyOrigin origin;
  };

  DecodedBatch() = default;
  DecodedBatch(const DecodedBatch&) = delete;
  DecodedBatch& operator=(const DecodedBatch&) = delete;

  // Empties the batch (keeping its buffers), returning the bytes the source
  // lent.
  void Clear();

  // Adds `message`, undecoded: takes its lease if it has one, else copies
  // its key and payload.
  void Add(SourceMessage& message);

  // Decodes every message added with `decoder` (EventDecoder::Decode: an
  // event, or a reason and error), or, if its topic starts with a non-empty
  // `rekey_prefix` (a repartition topic), with `rekey`. Copies each event
  // into the batch and returns its bytes to the source; a rejected message
  // keeps them.
  void Decode(EventDecoder* decoder, RekeyRecordDecoder* rekey = nullptr,
              absl::string_view rekey_prefix = {});

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Message `i` (< size()), in the order added.
  const Message& operator[](size_t i) const { return slots_[i].message; }

 private:
  // A message's copies; reused by the next batch (a deque: slots never move,
  // so views into them stay valid while the batch grows).
  struct Slot {
    std::string topic;
    MessageLease lease{nullptr, nullptr};  // the source's bytes, if lent
    std::string key, payload;              // copies, if not
    Event event;                           // its views point into `text`
    std::string text;                      // the event's name, id and string fields, back to back
    std::string origin_source;             // of a rekey record
    Message message;
  };
  // Sets slot.event to a copy of `event` whose strings live in slot.text.
  static void CopyEvent(const Event& event, Slot* slot);

  std::deque<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_DECODED_BATCH_H_
