// FieldCatalog: the set of dotted field paths the configured metrics read.
#ifndef NSMD_DAEMON_DECODE_FIELD_CATALOG_H_
#define NSMD_DAEMON_DECODE_FIELD_CATALOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace nsmd {

// Index of a field path in a FieldCatalog; Event::fields[id] holds its value.
using FieldId = int32_t;
inline constexpr FieldId kNoField = -1;

// Interns dotted JSON paths ("properties.plan", "context.groupId") to dense
// FieldIds. The config loader fills it while building metric definitions; the
// decoder then extracts exactly these paths from every event, so the engine
// reads fields by index with no lookups. Not thread-safe; immutable once the
// pipeline runs.
class FieldCatalog {
 public:
  // Returns the id of `path`, adding it if new. Paths are dot-separated keys;
  // a segment that is all digits also indexes into arrays ("items.0.sku").
  FieldId Intern(absl::string_view path);

  // Returns the id of `path`, or kNoField if it was never interned.
  FieldId Find(absl::string_view path) const;

  // The path of `id`. Requires 0 <= id < size().
  const std::string& path(FieldId id) const { return paths_[id]; }

  // Number of interned paths; ids are 0 .. size()-1.
  int size() const { return static_cast<int>(paths_.size()); }

 private:
  std::vector<std::string> paths_;
  absl::flat_hash_map<std::string, FieldId> ids_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_FIELD_CATALOG_H_
