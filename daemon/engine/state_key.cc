#include "daemon/engine/state_key.h"

#include <charconv>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

// Components are joined by '\0'; inside a component '\0' is written as
// "\x01\x01" and '\x01' as "\x01\x02", so any byte string round-trips.
void AppendEscaped(absl::string_view s, std::string* out) {
  for (char c : s) {
    if (c == '\0') {
      out->append("\x01\x01", 2);
    } else if (c == '\x01') {
      out->append("\x01\x02", 2);
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

std::string StateKey::Make(std::initializer_list<absl::string_view> components) const {
  std::string key = prefix_;
  bool first = true;
  for (absl::string_view c : components) {
    if (!first) key.push_back('\0');
    first = false;
    AppendEscaped(c, &key);
  }
  return key;
}

bool StateKey::Parse(absl::string_view key, std::vector<std::string>* components) const {
  if (key.size() < prefix_.size() || key.substr(0, prefix_.size()) != prefix_) return false;
  key.remove_prefix(prefix_.size());
  components->clear();
  components->emplace_back();
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '\0') {
      components->emplace_back();
    } else if (c == '\x01') {
      if (i + 1 >= key.size()) return false;
      char n = key[++i];
      if (n == '\x01') {
        components->back().push_back('\0');
      } else if (n == '\x02') {
        components->back().push_back('\x01');
      } else {
        return false;
      }
    } else {
      components->back().push_back(c);
    }
  }
  return true;
}

std::string MetricKeyPrefix(absl::string_view metric, absl::string_view fingerprint) {
  return absl::StrCat("m/", metric, "/", fingerprint, "/");
}

std::string SourceKey(absl::string_view source) { return absl::StrCat("s/", source); }

std::string FormatDouble(double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, ec == std::errc() ? end : buf);
}

bool ParseDouble(absl::string_view text, double* value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseInt64(absl::string_view text, int64_t* value) { return absl::SimpleAtoi(text, value); }

}  // namespace nsmd
