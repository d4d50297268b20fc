// FilterLoader: a metric's `filter` (and a cohort's `anchor`) from YAML.
#ifndef NSMD_DAEMON_CONFIG_FILTER_LOADER_H_
#define NSMD_DAEMON_CONFIG_FILTER_LOADER_H_

#include <string>

#include "daemon/config/yaml_reader.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/engine/filter.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// Reads filters: `{event: NAME | [NAMES], where: PREDICATE}`, predicates
// being field comparisons and all/any/not of predicates (docs/definitions.md).
// Field paths are interned in the catalog. Not thread-safe; `reader` and
// `catalog` must outlive it.
class FilterLoader {
 public:
  FilterLoader(YamlReader* reader, FieldCatalog* catalog);

  // Reads the filter at `n` into *out; `what` names it in messages
  // ("filter", "window.cohort.anchor"). False after reporting any problem.
  bool Load(const YAML::Node& n, const std::string& what, Filter* out);

 private:
  bool LoadLiteral(const YAML::Node& n, Literal* out);
  bool LoadPredicate(const YAML::Node& n, Predicate* out);

  YamlReader* const reader_;
  FieldCatalog* const catalog_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_FILTER_LOADER_H_
