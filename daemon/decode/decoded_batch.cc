#include "daemon/decode/decoded_batch.h"

#include "absl/strings/match.h"

namespace nsmd {

void DecodedBatch::Clear() {
  for (size_t i = 0; i < size_; ++i) slots_[i].lease.reset();
  size_ = 0;
}

void DecodedBatch::Add(SourceMessage& message) {
  if (size_ == slots_.size()) slots_.emplace_back();
  Slot& slot = slots_[size_++];
  slot.topic.assign(message.topic.data(), message.topic.size());
  absl::string_view key = message.key, payload = message.payload;
  slot.lease = std::move(message.lease);
  if (!slot.lease) {
    slot.key.assign(key.data(), key.size());
    slot.payload.assign(payload.data(), payload.size());
    key = slot.key;
    payload = slot.payload;
  }
  slot.message = Message();
  slot.message.source.topic = slot.topic;
  slot.message.source.partition = message.partition;
  slot.message.source.offset = message.offset;
  slot.message.source.key = key;
  slot.message.source.payload = payload;
}

void DecodedBatch::Decode(EventDecoder* decoder, RekeyRecordDecoder* rekey,
                          absl::string_view rekey_prefix) {
  for (size_t i = 0; i < size_; ++i) {
    Slot& slot = slots_[i];
    SourceMessage& source = slot.message.source;
    const Event* event = nullptr;
    if (!rekey_prefix.empty() && absl::StartsWith(slot.topic, rekey_prefix)) {
      RekeyOrigin origin;
      slot.message.error = rekey->Decode(source.payload, &event, &slot.message.reason, &origin);
      if (slot.message.error.ok()) {
        slot.origin_source.assign(origin.source.data(), origin.source.size());
        slot.message.origin = RekeyOrigin{slot.origin_source, origin.offset};
      }
    } else {
      slot.message.error = decoder->Decode(source.payload, &event, &slot.message.reason);
    }
    if (!slot.message.error.ok()) continue;
    CopyEvent(*event, &slot);
    slot.message.event = &slot.event;
    source.key = source.payload = absl::string_view();
    slot.lease.reset();
  }
}

void DecodedBatch::CopyEvent(const Event& event, Slot* slot) {
  size_t bytes = event.name.size() + event.id.size();
  for (const FieldValue& f : event.fields) bytes += f.str.size();
  std::string& text = slot->text;
  text.clear();
  text.reserve(bytes);  // appends below never reallocate: the views stay valid
  auto keep = [&text](absl::string_view s) {
    const size_t at = text.size();
    text.append(s.data(), s.size());
    return absl::string_view(text.data() + at, s.size());
  };
  Event& copy = slot->event;
  copy.name = keep(event.name);
  copy.time = event.time;
  copy.id = keep(event.id);
  copy.id_hash = event.id_hash;
  copy.id_hashed = event.id_hashed;
  copy.fields = event.fields;  // same size every time: no allocation once sized
  for (FieldValue& f : copy.fields) f.str = f.str.empty() ? absl::string_view() : keep(f.str);
}

}  // namespace nsmd
