// MeasureLoader: a metric's `measure` from YAML.
#ifndef NSMD_DAEMON_CONFIG_MEASURE_LOADER_H_
#define NSMD_DAEMON_CONFIG_MEASURE_LOADER_H_

#include "daemon/config/yaml_reader.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/engine/metric_definition.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// Reads measures: events, {distinct: FIELD}, {sum: FIELD}, {entities: FIELD,
// having: EXPR} and {ratio: {numerator, denominator}} (docs/definitions.md).
// Ratio operands are only named here; MetricLoader resolves them. Not
// thread-safe; `reader` and `catalog` must outlive it.
class MeasureLoader {
 public:
  MeasureLoader(YamlReader* reader, FieldCatalog* catalog);

  // Reads the measure at `n` into *m. False after reporting any problem.
  bool Load(const YAML::Node& n, MeasureSpec* m);

 private:
  // "distinct(userId) > 3" and the like, into m's aggregate and comparison.
  bool LoadHaving(const YAML::Node& n, MeasureSpec* m);

  YamlReader* const reader_;
  FieldCatalog* const catalog_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_MEASURE_LOADER_H_
