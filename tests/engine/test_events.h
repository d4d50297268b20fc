// TestEvents: builds decoded Events by hand for engine tests.
#ifndef NSMD_TESTS_ENGINE_TEST_EVENTS_H_
#define NSMD_TESTS_ENGINE_TEST_EVENTS_H_

#include <deque>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "daemon/decode/event.h"
#include "daemon/decode/field_catalog.h"

namespace nsmd {

// Epoch milliseconds of a UTC civil time.
inline int64_t UtcMs(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

// Owns the strings the built events point to. Intern every field path the
// metrics read before building events.
class TestEvents {
 public:
  FieldCatalog& catalog() { return catalog_; }

  // An event named `name` at EventTime(`time_ms`) with string fields
  // {path, value}.
  Event Make(std::string name, int64_t time_ms,
             std::initializer_list<std::pair<std::string, std::string>> strings = {},
             std::initializer_list<std::pair<std::string, double>> numbers = {}) {
    Event e;
    e.name = Keep(std::move(name));
    e.time = EventTime(time_ms);
    e.fields.assign(catalog_.size(), FieldValue::Missing());
    for (const auto& [path, value] : strings) {
      e.fields[catalog_.Intern(path)] = FieldValue::String(Keep(value));
    }
    for (const auto& [path, value] : numbers) {
      e.fields[catalog_.Intern(path)] = FieldValue::Number(value);
    }
    return e;
  }

 private:
  absl::string_view Keep(std::string s) {
    storage_.push_back(std::move(s));
    return storage_.back();
  }
  FieldCatalog catalog_;
  std::deque<std::string> storage_;
};

}  // namespace nsmd

#endif  // NSMD_TESTS_ENGINE_TEST_EVENTS_H_
