#include "daemon/engine/group_index.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace nsmd {

namespace {

// True for "__other__" or "__empty__" followed by zero or more '_'.
bool IsReservedOrEscaped(absl::string_view value) {
  for (absl::string_view reserved :
       {absl::string_view(GroupIndex::kOtherValue), absl::string_view(GroupIndex::kEmptyValue)}) {
    if (absl::StartsWith(value, reserved) &&
        value.find_first_not_of('_', reserved.size()) == absl::string_view::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

void GroupIndex::AppendLabelValue(absl::string_view value, std::string* key) {
  const size_t start = key->size();
  key->append(value.data(), value.size());
  EscapeLabelValue(start, key);
}

void GroupIndex::EscapeLabelValue(size_t start, std::string* key) {
  const absl::string_view value = absl::string_view(*key).substr(start);
  if (value.empty()) {
    key->append(kEmptyValue);
  } else if (IsReservedOrEscaped(value)) {
    key->push_back('_');
  }
}

void GroupIndex::KeyOf(const Event& event, std::string* key) const {
  key->clear();
  for (size_t i = 0; i < group_by_.size(); ++i) {
    if (i > 0) key->push_back('\x1f');
    const FieldValue& v = event.field(group_by_[i].field);
    if (v.IsKey()) {
      const size_t start = key->size();
      v.AppendKeyText(key);
      EscapeLabelValue(start, key);
    } else {
      key->append("none");
    }
  }
}

std::string GroupIndex::Resolve(const Event& event) {
  if (group_by_.empty()) return std::string();
  std::string key;
  KeyOf(event, &key);
  if (known_.contains(key)) return key;
  if (static_cast<int>(known_.size()) < max_series_) {
    known_.insert(key);
    return key;
  }
  return OtherKey();
}

std::string GroupIndex::OtherKey() const {
  std::string other;
  for (size_t i = 0; i < group_by_.size(); ++i) {
    if (i > 0) other.push_back('\x1f');
    other.append(kOtherValue);
  }
  return other;
}

void GroupIndex::Restore(const std::string& key) {
  // The overflow key holds no slot under the cap. (A real value "__other__"
  // is stored escaped as "__other___", so it is not mistaken for it.)
  if (key == OtherKey()) return;
  known_.insert(key);
}

Labels GroupIndex::LabelsOf(const std::string& key) const {
  Labels labels;
  if (group_by_.empty()) return labels;
  std::vector<std::string> values = absl::StrSplit(key, '\x1f');
  for (size_t i = 0; i < group_by_.size(); ++i) {
    labels.emplace_back(group_by_[i].label, i < values.size() ? values[i] : "");
  }
  return labels;
}

}  // namespace nsmd
