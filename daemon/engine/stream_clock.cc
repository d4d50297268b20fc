#include "daemon/engine/stream_clock.h"

#include <algorithm>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "daemon/engine/state_key.h"

namespace nsmd {

int StreamClock::Register(absl::string_view name) {
  auto it = index_.find(name);
  if (it != index_.end()) return it->second;
  int id = static_cast<int>(sources_.size());
  sources_.push_back(Source{std::string(name)});
  index_.emplace(std::string(name), id);
  return id;
}

bool StreamClock::ObserveOrLate(int source, EventTime time) {
  Source& s = sources_[source];
  if (s.time != EventTime() && time.millis() < s.time.millis() - lateness_ms_) return true;
  if (time > s.time) {
    s.time = time;
    s.dirty = true;
    now_ = std::max(now_, time);
  }
  return false;
}

EventTime StreamClock::horizon() const {
  int64_t min_time = std::numeric_limits<int64_t>::max();
  for (const Source& s : sources_) {
    if (s.idle) continue;
    if (s.time == EventTime()) return EventTime();
    min_time = std::min(min_time, s.time.millis());
  }
  if (min_time == std::numeric_limits<int64_t>::max()) {
    return now_ == EventTime() ? EventTime() : EventTime(now_.millis() - lateness_ms_);
  }
  return EventTime(min_time - lateness_ms_);
}

void StreamClock::SetActivity(const absl::flat_hash_map<std::string, bool>& active_idle,
                              bool others_idle, const std::vector<std::string>& held_prefixes) {
  for (const auto& [name, idle] : active_idle) Register(name);
  for (Source& s : sources_) {
    auto it = active_idle.find(s.name);
    if (it != active_idle.end()) {
      s.idle = it->second;
    } else if (others_idle &&
               std::none_of(held_prefixes.begin(), held_prefixes.end(),
                            [&s](const std::string& p) { return absl::StartsWith(s.name, p); })) {
      s.idle = true;
    }
  }
}

absl::Status StreamClock::Restore(absl::string_view key, absl::string_view value) {
  if (!absl::StartsWith(key, "s/")) {
    return absl::InvalidArgumentError(absl::StrCat("not a stream time key: ", key));
  }
  int64_t t = 0;
  if (!ParseInt64(value, &t)) {
    return absl::DataLossError(absl::StrCat("stream time of ", key, " is not a number"));
  }
  Source& s = sources_[Register(key.substr(2))];
  s.time = EventTime(t);
  now_ = std::max(now_, s.time);
  return absl::OkStatus();
}

void StreamClock::TakeDelta(StateDelta* delta) {
  for (Source& s : sources_) {
    if (!s.dirty) continue;
    delta->Put(SourceKey(s.name), absl::StrCat(s.time.millis()));
    s.dirty = false;
  }
}

}  // namespace nsmd
