#include "daemon/engine/metric_definition.h"

#include <algorithm>

namespace nsmd {

absl::string_view MetricRoleName(MetricRole role) {
  switch (role) {
    case MetricRole::kNorthStar: return "north_star";
    case MetricRole::kInput: return "input";
    case MetricRole::kFocus: return "focus";
    case MetricRole::kGuardrail: return "guardrail";
    case MetricRole::kValidation: return "validation";
    case MetricRole::kCandidate: return "candidate";
  }
  return "input";
}

absl::string_view CalendarUnitName(CalendarUnit unit) {
  switch (unit) {
    case CalendarUnit::kHour: return "hour";
    case CalendarUnit::kDay: return "day";
    case CalendarUnit::kWeek: return "week";
    case CalendarUnit::kMonth: return "month";
  }
  return "day";
}

bool Compare(double lhs, Comparison cmp, double rhs) {
  switch (cmp) {
    case Comparison::kGt: return lhs > rhs;
    case Comparison::kGte: return lhs >= rhs;
    case Comparison::kLt: return lhs < rhs;
    case Comparison::kLte: return lhs <= rhs;
    case Comparison::kEq: return lhs == rhs;
  }
  return false;
}

FieldId MemberField(const MeasureSpec& measure) {
  if (measure.kind == MeasureKind::kDistinct) return measure.field;
  if (measure.kind == MeasureKind::kEntities && measure.aggregate == EntityAggregate::kDistinct) {
    return measure.aggregate_field;
  }
  return kNoField;
}

std::vector<FieldId> MemberFields(const std::vector<MetricDefinition>& metrics) {
  std::vector<FieldId> fields;
  for (const MetricDefinition& m : metrics) {
    const FieldId id = MemberField(m.measure);
    if (id != kNoField && std::find(fields.begin(), fields.end(), id) == fields.end()) {
      fields.push_back(id);
    }
  }
  return fields;
}

}  // namespace nsmd
