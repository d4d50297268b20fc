// MetricDefinition: one declarative metric, as the engine executes it.
#ifndef NSMD_DAEMON_ENGINE_METRIC_DEFINITION_H_
#define NSMD_DAEMON_ENGINE_METRIC_DEFINITION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/engine/filter.h"

namespace nsmd {

// The place of a metric in the NSM tree.
// kCandidate: an alternative north star that `nsmd validate` scores beside
// the real one (it is computed and exported like any other metric).
enum class MetricRole { kNorthStar, kInput, kFocus, kGuardrail, kValidation, kCandidate };

// "north_star", "input", ...: the YAML spelling and the info label value.
absl::string_view MetricRoleName(MetricRole role);

// Descriptive fields, exported on nsm_metric_info and /api/v1/metrics.
struct MetricMetadata {
  MetricRole role = MetricRole::kInput;
  std::vector<std::string> inputs;  // names of the metrics that drive this one
  std::string description;
  std::string customer_value;
  std::string decision_question;
  std::string cadence;
  std::string owner;
  std::string unit;
};

// What is computed over the events that pass the filter, per window.
enum class MeasureKind {
  kEvents,    // number of events
  kDistinct,  // exact number of distinct values of `field`
  kSum,       // sum of numeric `field` (non-numbers are skipped)
  kEntities,  // entities (by `entity`) whose aggregate satisfies a comparison
  kRatio,     // numerator metric / denominator metric, window by window
};

// The per-entity aggregate of a kEntities measure.
enum class EntityAggregate { kCount, kDistinct, kSum };

enum class Comparison { kGt, kGte, kLt, kLte, kEq };

// True if `lhs <cmp> rhs`.
bool Compare(double lhs, Comparison cmp, double rhs);

struct MeasureSpec {
  MeasureKind kind = MeasureKind::kEvents;
  FieldId field = kNoField;                             // kDistinct, kSum
  FieldId entity = kNoField;                            // kEntities: which field names the entity
  EntityAggregate aggregate = EntityAggregate::kCount;  // kEntities
  FieldId aggregate_field = kNoField;                   // kEntities with kDistinct / kSum
  Comparison comparison = Comparison::kGte;             // kEntities
  double threshold = 1;                                 // kEntities: default "count >= 1"
  std::string numerator;                                // kRatio: metric names
  std::string denominator;
};

// Calendar units for tumbling windows and cohort periods.
enum class CalendarUnit { kHour, kDay, kWeek, kMonth };

absl::string_view CalendarUnitName(CalendarUnit unit);

enum class WindowKind {
  kTumbling,  // calendar-aligned hour/day/week/month in the configured zone
  kRolling,   // the `length` ending at stream time: (T - length, T]
  kCohort,    // per entity, [anchor, anchor + length); grouped by anchor period
  kLifetime,  // everything since the metric was created
};

struct WindowSpec {
  WindowKind kind = WindowKind::kTumbling;
  CalendarUnit unit = CalendarUnit::kDay;  // kTumbling
  absl::Duration length;                   // kRolling, kCohort
  // kCohort: the anchor events that open an entity's window, the field that
  // names the entity on both anchor and activity events, and the calendar
  // period that groups entities by when their anchor happened.
  Filter anchor;
  FieldId cohort_entity = kNoField;
  CalendarUnit period = CalendarUnit::kWeek;
};

// A group-by label: its Prometheus label name and the field it reads.
struct GroupBy {
  std::string label;
  FieldId field = kNoField;
};

// The cap on a group-by metric's series when its definition gives no
// max_series: a field of unbounded cardinality (an id) folds into
// "__other__" past it instead of growing memory, state and the scrape
// forever. 1,000 series of one metric stay well inside the scrape budget
// (10,000 series in 53 ms: benchmarks/RESULTS.md).
inline constexpr int kDefaultMaxSeries = 1000;

struct MetricDefinition {
  std::string name;  // valid Prometheus label value, unique in the config
  MetricMetadata metadata;
  Filter filter;
  MeasureSpec measure;
  WindowSpec window;
  std::vector<GroupBy> group_by;
  int max_series = 0;  // 0: not given, kDefaultMaxSeries applies
  // A stable digest of everything that changes the metric's numbers (filter,
  // measure, window, group-by; not the metadata). State is stored under it,
  // so a reload keeps the state of unchanged metrics only.
  std::string fingerprint;
};

// Zone and calendar rules shared by every metric.
struct EngineOptions {
  absl::TimeZone time_zone = absl::UTCTimeZone();
  absl::Weekday week_start = absl::Weekday::monday;
  absl::Duration allowed_lateness = absl::Hours(1);
  // Ids of applied events are remembered this long (event time); zero
  // disables deduplication.
  absl::Duration dedup_horizon = absl::Hours(24);
};

// The field whose values `measure` counts as distinct members: a distinct
// measure's field, an entities measure's distinct aggregate field; kNoField
// for other measures.
FieldId MemberField(const MeasureSpec& measure);

// The MemberField of each of `metrics`, once each: the decoder hashes these
// (EventDecoderOptions::hashed_fields).
std::vector<FieldId> MemberFields(const std::vector<MetricDefinition>& metrics);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_METRIC_DEFINITION_H_
