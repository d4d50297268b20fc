// libFuzzer target: any bytes through the event decoder, in both event
// formats, with a catalog of typical paths. The decoder must return a status
// (never crash, hang or read out of bounds) and a decoded event must satisfy
// the decoder's documented invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "daemon/decode/event_decoder.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"

namespace {

struct Decoders {
  nsmd::FieldCatalog catalog;
  std::unique_ptr<nsmd::EventDecoder> segment;
  std::unique_ptr<nsmd::EventDecoder> amplitude;

  Decoders() {
    for (absl::string_view path : {"userId", "context.groupId", "properties.plan",
                                   "properties.duration_ms", "event_properties.amount",
                                   "groups.company", "a.b.c.d"}) {
      catalog.Intern(path);
    }
    segment = std::make_unique<nsmd::EventDecoder>(nsmd::EventFormat::Segment(), &catalog, 4096);
    amplitude =
        std::make_unique<nsmd::EventDecoder>(nsmd::EventFormat::Amplitude(), &catalog, 4096);
  }
};

void Check(nsmd::EventDecoder& decoder, absl::string_view input) {
  const nsmd::Event* event = nullptr;
  nsmd::RejectReason reason;
  if (decoder.Decode(input, &event, &reason).ok()) {
    // Accepted events have a name and a timestamp inside the accepted range.
    if (event == nullptr || event->name.empty()) std::abort();
    if (event->time_ms < 0 || event->time_ms > 253402300799999) std::abort();
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
