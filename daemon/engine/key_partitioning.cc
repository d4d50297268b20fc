#include "daemon/engine/key_partitioning.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

// Nullopt if `field` is the key field, else why that matters (`what` names
// the field's role).
std::optional<std::string> NeedsKey(FieldId field, const FieldCatalog& catalog,
                                    absl::string_view key_field, absl::string_view what) {
  const std::string& path = catalog.path(field);
  if (!key_field.empty() && path == key_field) return std::nullopt;
  if (key_field.empty()) {
    return absl::StrCat(what, " ", path, " must be the messages' key (kafka.key_field is not set)");
  }
  return absl::StrCat(what, " ", path, " is not the messages' key (", key_field, ")");
}

}  // namespace

std::optional<std::string> KeyPartitioningGap(const MetricDefinition& metric,
                                              const FieldCatalog& catalog,
                                              absl::string_view key_field) {
  const MeasureSpec& measure = metric.measure;
  if (measure.kind == MeasureKind::kRatio) return std::nullopt;  // no state of its own
  if (metric.window.kind == WindowKind::kCohort) {
    if (auto gap = NeedsKey(metric.window.cohort_entity, catalog, key_field, "cohort entity")) {
      return gap;
    }
  }
  switch (measure.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
    case MeasureKind::kRatio: return std::nullopt;
    case MeasureKind::kDistinct: return NeedsKey(measure.field, catalog, key_field, "distinct");
    case MeasureKind::kEntities: return NeedsKey(measure.entity, catalog, key_field, "entity");
  }
  return std::nullopt;  // not reached: every kind is handled above
}

bool PartitionedByKey(const std::vector<MetricDefinition>& metrics, const FieldCatalog& catalog,
                      absl::string_view key_field) {
  for (const MetricDefinition& m : metrics) {
    if (KeyPartitioningGap(m, catalog, key_field)) return false;
  }
  return true;
}

absl::StatusOr<FieldId> PartitionField(const MetricDefinition& metric,
                                       const FieldCatalog& catalog) {
  const MeasureSpec& measure = metric.measure;
  FieldId counted = kNoField;
  switch (measure.kind) {
    case MeasureKind::kRatio: return kNoField;  // no state of its own
    case MeasureKind::kEvents:
    case MeasureKind::kSum: break;
    case MeasureKind::kDistinct: counted = measure.field; break;
    case MeasureKind::kEntities: counted = measure.entity; break;
  }
  if (metric.window.kind != WindowKind::kCohort) return counted;
  const FieldId entity = metric.window.cohort_entity;
  if (counted != kNoField && counted != entity) {
    return absl::FailedPreconditionError(
        absl::StrCat("its cohort entity ", catalog.path(entity), " and the ",
                     measure.kind == MeasureKind::kDistinct ? "distinct field " : "entity ",
                     catalog.path(counted), " differ: no one field partitions both"));
  }
  return entity;
}

std::optional<FieldId> RekeyFieldOf(const MetricDefinition& metric, const FieldCatalog& catalog,
                                    absl::string_view key_field) {
  if (metric.measure.kind == MeasureKind::kRatio) return std::nullopt;
  absl::StatusOr<FieldId> field = PartitionField(metric, catalog);
  if (!field.ok() || *field == kNoField || catalog.path(*field) == key_field) return std::nullopt;
  return *field;
}

absl::StatusOr<std::vector<FieldId>> RekeyFields(const std::vector<MetricDefinition>& metrics,
                                                 const FieldCatalog& catalog,
                                                 absl::string_view key_field) {
  std::vector<FieldId> fields;
  for (const MetricDefinition& m : metrics) {
    absl::StatusOr<FieldId> field = PartitionField(m, catalog);
    if (!field.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("metric ", m.name, " cannot be re-keyed: ", field.status().message()));
    }
    if (*field == kNoField || catalog.path(*field) == key_field) continue;
    if (std::find(fields.begin(), fields.end(), *field) == fields.end()) fields.push_back(*field);
  }
  return fields;
}

}  // namespace nsmd
