// RenderMetricTree: the NSM tree of a config, as `nsmd check` prints it.
#ifndef NSMD_DAEMON_CONFIG_METRIC_TREE_H_
#define NSMD_DAEMON_CONFIG_METRIC_TREE_H_

#include <string>
#include <vector>

#include "daemon/decode/field_catalog.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// One line per metric, "name (role): measure, window": the north star
// first, its `inputs` indented beneath it, recursively (a metric reached
// twice is printed once, then referred to as "(see above)"); then the
// metrics no input path reaches, under "other metrics:".
std::string RenderMetricTree(const std::vector<MetricDefinition>& metrics,
                             const FieldCatalog& catalog);

// "distinct userId, tumbling week" and the like.
std::string DescribeMetric(const MetricDefinition& metric, const FieldCatalog& catalog);

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_METRIC_TREE_H_
