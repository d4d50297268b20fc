// GroupIndex: maps an event to its group-by series, with a cap.
#ifndef NSMD_DAEMON_ENGINE_GROUP_INDEX_H_
#define NSMD_DAEMON_ENGINE_GROUP_INDEX_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "daemon/decode/event.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"

namespace nsmd {

// A group key is the label values joined by '\x1f' ("" without group-by). A
// field that is missing or not a scalar gives the value "none"; an empty
// string gives "__empty__" (Prometheus reads label="" as no label); a real
// value "__other__" or "__empty__" (or either followed by more '_') gets one
// more '_' appended, so it never merges with the overflow series or the
// empty placeholder. Once `max_series` distinct keys exist, new keys fold
// into one "__other__" key (every label "__other__"), so a metric never
// exceeds max_series + 1 series; a max_series of 0 (none given) means
// kDefaultMaxSeries. Thread-compatible.
class GroupIndex {
 public:
  GroupIndex(std::vector<GroupBy> group_by, int max_series)
      : group_by_(std::move(group_by)),
        max_series_(max_series > 0 ? max_series : kDefaultMaxSeries) {}

  // The group key of `event`, registering it if there is room.
  std::string Resolve(const Event& event);

  // Sets *key to the key Resolve(event) gives while that key is registered
  // (before the cap folds it into "__other__"), registering nothing.
  void KeyOf(const Event& event, std::string* key) const;

  // Registers a key read back from state (always accepted: it was admitted
  // under the cap when it was first seen).
  void Restore(const std::string& key);

  // The Prometheus labels of `key`.
  Labels LabelsOf(const std::string& key) const;

  static constexpr char kOtherValue[] = "__other__";
  static constexpr char kEmptyValue[] = "__empty__";

  // Appends the label value for field text `value` to *key: "" becomes
  // kEmptyValue, reserved-looking values are escaped with one more '_'.
  static void AppendLabelValue(absl::string_view value, std::string* key);

 private:
  // Rewrites the value appended to *key from offset `start` as
  // AppendLabelValue does.
  static void EscapeLabelValue(size_t start, std::string* key);
  // The overflow key: kOtherValue for every label.
  std::string OtherKey() const;

  std::vector<GroupBy> group_by_;
  int max_series_;
  absl::flat_hash_set<std::string> known_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_GROUP_INDEX_H_
