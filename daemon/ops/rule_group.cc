#include "daemon/ops/rule_group.h"

#include "yaml-cpp/yaml.h"

namespace nsmd {
namespace {

void EmitText(YAML::Emitter& out, const std::string& text) {
  if (text.find('\n') != std::string::npos) {
    out << YAML::Literal << text;
  } else {
    out << YAML::DoubleQuoted << text;
  }
}

void EmitPairs(YAML::Emitter& out, const char* key,
               const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) return;
  out << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : pairs) {
    out << YAML::Key << k << YAML::Value;
    EmitText(out, v);
  }
  out << YAML::EndMap;
}

}  // namespace

void RuleGroup::Emit(YAML::Emitter& out) const {
  out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << name;
  if (!interval.empty()) out << YAML::Key << "interval" << YAML::Value << interval;
  out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const Rule& r : rules) {
    out << YAML::BeginMap;
    if (!r.record.empty()) out << YAML::Key << "record" << YAML::Value << r.record;
    if (!r.alert.empty()) out << YAML::Key << "alert" << YAML::Value << r.alert;
    out << YAML::Key << "expr" << YAML::Value;
    EmitText(out, r.expr);
    if (!r.for_duration.empty()) out << YAML::Key << "for" << YAML::Value << r.for_duration;
    EmitPairs(out, "labels", r.labels);
    EmitPairs(out, "annotations", r.annotations);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
}

}  // namespace nsmd
