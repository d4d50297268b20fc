#include "daemon/engine/group_index.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace nsmd {

std::string GroupIndex::Resolve(const Event& event) {
  if (group_by_.empty()) return std::string();
  std::string key;
  for (size_t i = 0; i < group_by_.size(); ++i) {
    if (i > 0) key.push_back('\x1f');
    const FieldValue& v = event.field(group_by_[i].field);
    if (v.IsKey()) {
      v.AppendKeyText(&key);
    } else {
      key.append("none");
    }
  }
  if (known_.contains(key)) return key;
  if (max_series_ <= 0 || static_cast<int>(known_.size()) < max_series_) {
    known_.insert(key);
    return key;
  }
  std::string other;
  for (size_t i = 0; i < group_by_.size(); ++i) {
    if (i > 0) other.push_back('\x1f');
    other.append(kOtherValue);
  }
  return other;
}

void GroupIndex::Restore(const std::string& key) {
  // The overflow key holds no slot under the cap.
  if (absl::StartsWith(key, kOtherValue)) return;
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
