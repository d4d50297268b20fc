// RulesTestBuilder: `promtool test rules` tests of the drop alerts that
// RulesBuilder generates for a config (`nsmd rules --format tests`), so
// every config's own rules can be checked in promtool next to them.
#ifndef NSMD_DAEMON_OPS_RULES_TEST_BUILDER_H_
#define NSMD_DAEMON_OPS_RULES_TEST_BUILDER_H_

#include <string>

#include "daemon/config/daemon_config.h"

namespace nsmd {

// For each metric with `alert: {drop_percent: X}` (not ratios: their value
// is recomputed from operands), two tests on a synthetic healthy nsmd
// sampled every 4m, evaluated every 30m:
//  - the metric grew by 1 a step over one baseline period (a window, or
//    compare_to) and by 1 - 2X/100 a step since: NsmMetricDropped fires,
//    one `for:` and an hour after the period, with its labels and
//    annotations;
//  - it grew by 1 - X/200 a step since (half the threshold): silent.
// Metrics whose baseline period is not a whole number of 4m steps, or
// under an hour, get no test (a comment says so).
// Holds a reference to `config`, which must outlive it.
class RulesTestBuilder {
 public:
  explicit RulesTestBuilder(const DaemonConfig& config) : config_(config) {}

  // The test file; `rules_file` is the rule file it loads, as promtool
  // resolves it (relative to the test file).
  std::string Build(const std::string& rules_file) const;

 private:
  const DaemonConfig& config_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_OPS_RULES_TEST_BUILDER_H_
