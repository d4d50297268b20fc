// KeyPartitioning: which metrics one task per partition computes exactly.
#ifndef NSMD_DAEMON_ENGINE_KEY_PARTITIONING_H_
#define NSMD_DAEMON_ENGINE_KEY_PARTITIONING_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// Why `metric` cannot be computed by one task per source partition, when
// the producers key messages by `key_field` (a field path; empty: unknown),
// or nullopt if it can: the sum over the partitions' tasks (SeriesMerge) is
// then its value over all events. That holds for
//   - events and sums over calendar, rolling and lifetime windows (they
//     add up, whatever the partitioning);
//   - distinct counts of the key field, and entities named by it (each
//     member lives in one partition);
//   - cohorts whose entity is the key field, with any of the above;
//   - ratios (computed from their summed operands).
// Anything else (a team's distinct users when events are keyed by user)
// needs its events re-keyed by another field first. `catalog` names the
// metric's field ids.
std::optional<std::string> KeyPartitioningGap(const MetricDefinition& metric,
                                              const FieldCatalog& catalog,
                                              absl::string_view key_field);

// True if every one of `metrics` has no KeyPartitioningGap.
bool PartitionedByKey(const std::vector<MetricDefinition>& metrics, const FieldCatalog& catalog,
                      absl::string_view key_field);

// The field by whose values `metric`'s events must be partitioned for tasks
// of disjoint shares to add up: the entity it counts (distinct, entities)
// or its cohort's entity; kNoField if any partitioning will do (events and
// sums without a cohort, ratios). FailedPrecondition, saying why, if no
// single field will (a cohort of one entity that counts another).
[[nodiscard]] absl::StatusOr<FieldId> PartitionField(const MetricDefinition& metric,
                                                     const FieldCatalog& catalog);

// The field `metric`'s events are re-keyed by when the messages are keyed
// by `key_field`: its PartitionField, unless that is kNoField or key_field
// itself (nullopt); nullopt too for a ratio and for a metric no one field
// partitions (RekeyFields refuses those).
std::optional<FieldId> RekeyFieldOf(const MetricDefinition& metric, const FieldCatalog& catalog,
                                    absl::string_view key_field);

// The fields other than `key_field` by which some of `metrics` must be
// re-keyed before one task per partition can compute them, each once, in
// order of first use; empty if the messages' key partitions them all. The
// first PartitionField error (naming its metric) if some metric cannot be
// re-keyed by one field.
[[nodiscard]] absl::StatusOr<std::vector<FieldId>> RekeyFields(
    const std::vector<MetricDefinition>& metrics, const FieldCatalog& catalog,
    absl::string_view key_field);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_KEY_PARTITIONING_H_
