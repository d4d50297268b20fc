// WindowLoader: a metric's `window` from YAML.
#ifndef NSMD_DAEMON_CONFIG_WINDOW_LOADER_H_
#define NSMD_DAEMON_CONFIG_WINDOW_LOADER_H_

#include <string>

#include "daemon/config/filter_loader.h"
#include "daemon/config/yaml_reader.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/engine/metric_definition.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// Reads windows: {tumbling: UNIT}, {rolling: DURATION}, {cohort: {anchor,
// entity, length, period}} and lifetime (docs/definitions.md). Not
// thread-safe; `reader` and `catalog` must outlive it.
class WindowLoader {
 public:
  WindowLoader(YamlReader* reader, FieldCatalog* catalog);

  // Reads the window at `n` into *w. False after reporting any problem.
  bool Load(const YAML::Node& n, WindowSpec* w);

 private:
  // hour, day, week or month.
  bool LoadUnit(const YAML::Node& n, const std::string& what, CalendarUnit* unit);

  YamlReader* const reader_;
  FieldCatalog* const catalog_;
  FilterLoader filters_;  // for cohort anchors
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_WINDOW_LOADER_H_
