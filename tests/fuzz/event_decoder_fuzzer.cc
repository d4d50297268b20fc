// libFuzzer target: any bytes through the event decoder, in both event
// formats, with a catalog of typical paths. The decoder must return a status
// (never crash, hang or read out of bounds) and a decoded event must satisfy
// the decoder's documented invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"

namespace {

constexpr size_t kMaxMessageBytes = 1024;
// 2024-03-31T01:30:00Z; with the default max_future_skew of 1 h nothing
// after kNowMs + 3600000 is accepted.
constexpr int64_t kNowMs = 1711848600000;

struct Decoders {
  nsmd::FieldCatalog catalog;
  std::unique_ptr<nsmd::EventDecoder> segment;
  std::unique_ptr<nsmd::EventDecoder> amplitude;

  Decoders() {
    for (absl::string_view path :
         {"userId", "context.groupId", "properties.plan", "properties.duration_ms",
          "event_properties.amount", "groups.company", "a.b.c.d"}) {
      catalog.Intern(path);
    }
    // A limit well under the fuzzer's -max_len (4096), so the oversized
    // branch is reached too; a fixed wall clock, so a crash reproduces
    // whenever it is replayed.
    nsmd::EventDecoderOptions options;
    options.max_message_bytes = kMaxMessageBytes;
    options.now = [] { return absl::FromUnixMillis(kNowMs); };
    segment = std::make_unique<nsmd::EventDecoder>(nsmd::EventFormat::Segment(), &catalog, options);
    amplitude =
        std::make_unique<nsmd::EventDecoder>(nsmd::EventFormat::Amplitude(), &catalog, options);
  }
};

void Check(nsmd::EventDecoder& decoder, absl::string_view input) {
  const nsmd::Event* event = nullptr;
  nsmd::RejectReason reason;
  if (decoder.Decode(input, &event, &reason).ok()) {
    // Accepted events have a name and a timestamp inside the accepted range.
    if (event == nullptr || event->name.empty()) std::abort();
    if (event->time < nsmd::EventTime(0) || event->time > nsmd::EventTime(kNowMs + 3600000)) {
      std::abort();
    }
    if (input.size() > kMaxMessageBytes) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Decoders* decoders = new Decoders();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  Check(*decoders->segment, input);
  Check(*decoders->amplitude, input);
  return 0;
}
