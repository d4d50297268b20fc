#include "daemon/decode/event_counts.h"

#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nsmd {
namespace {

constexpr absl::string_view kRejectedPrefix = "rejected.";

// (name, count) of every count of `c`, in Encode() order.
std::vector<std::pair<std::string, uint64_t*>> Named(EventCounts* c) {
  std::vector<std::pair<std::string, uint64_t*>> out = {{"consumed", &c->consumed},
                                                        {"applied", &c->applied},
                                                        {"late", &c->late},
                                                        {"duplicate", &c->duplicate}};
  for (size_t i = 0; i < kAllRejectReasons.size(); ++i) {
    out.emplace_back(absl::StrCat(kRejectedPrefix, RejectReasonName(kAllRejectReasons[i])),
                     &c->rejected[i]);
  }
  return out;
}

}  // namespace

uint64_t EventCounts::rejected_total() const {
  uint64_t n = 0;
  for (uint64_t r : rejected) n += r;
  return n;
}

EventCounts& EventCounts::operator+=(const EventCounts& other) {
  consumed += other.consumed;
  applied += other.applied;
  late += other.late;
  duplicate += other.duplicate;
  for (size_t i = 0; i < rejected.size(); ++i) rejected[i] += other.rejected[i];
  return *this;
}

std::string EventCounts::Encode() const {
  EventCounts copy = *this;
  std::string out;
  for (const auto& [name, count] : Named(&copy)) {
    if (*count == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : " ", name, "=", *count);
  }
  return out;
}

absl::Status EventCounts::Decode(absl::string_view text, EventCounts* out) {
  EventCounts parsed;
  const std::vector<std::pair<std::string, uint64_t*>> named = Named(&parsed);
  for (absl::string_view field : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(field, '=');
    uint64_t* slot = nullptr;
    for (const auto& [name, count] : named) {
      if (name == kv.first) slot = count;
    }
    if (slot == nullptr || !absl::SimpleAtoi(kv.second, slot)) {
      return absl::DataLossError(absl::StrCat("bad event count \"", field, "\" in \"", text, "\""));
    }
  }
  *out = parsed;
  return absl::OkStatus();
}

}  // namespace nsmd
