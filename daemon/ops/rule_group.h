// RuleGroup: a Prometheus rule group as the rule builders assemble it, and
// its YAML form (promtool/Prometheus rule file, PrometheusRule spec).
#ifndef NSMD_DAEMON_OPS_RULE_GROUP_H_
#define NSMD_DAEMON_OPS_RULE_GROUP_H_

#include <string>
#include <utility>
#include <vector>

namespace YAML {
class Emitter;
}

namespace nsmd {

// One recording rule (`record` set) or alerting rule (`alert` set).
struct Rule {
  std::string record;
  std::string alert;
  std::string expr;
  std::string for_duration;                                      // alerts only; empty: none
  std::vector<std::pair<std::string, std::string>> labels;       // in this order
  std::vector<std::pair<std::string, std::string>> annotations;  // in this order
};

struct RuleGroup {
  std::string name;
  std::string interval;  // empty: Prometheus' evaluation_interval
  std::vector<Rule> rules;

  // Writes the group as one element of a rule file's `groups:` sequence;
  // multi-line expressions as literal blocks.
  void Emit(YAML::Emitter& out) const;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_OPS_RULE_GROUP_H_
