#include "absl/time/time.h"
#include "daemon/export/json_writer.h"
#include "daemon/validate/validation_report.h"

namespace nsmd {
namespace {

std::string Iso(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

void Optional(const std::optional<double>& v, JsonWriter* w) {
  if (v) {
    w->Number(*v);
  } else {
    w->Null();
  }
}

void WriteCorrelation(const Correlation& c, JsonWriter* w) {
  w->BeginObject();
  w->Key("r");
  Optional(c.r, w);
  w->Key("pairs");
  w->Int(c.pairs);
  w->EndObject();
}

}  // namespace

std::string ValidationJson(const ValidationResult& result) {
  const PeriodTable& table = *result.table;
  JsonWriter w;
  w.BeginObject();
  w.Key("cadence");
  w.String(PeriodName(table));
  w.Key("periods");
  w.BeginArray();
  for (int64_t start : table.period_starts_ms) w.String(Iso(start));
  w.EndArray();
  w.Key("end");
  if (table.period_starts_ms.empty()) {
    w.Null();
  } else {
    w.String(Iso(table.end_ms));
  }
  w.Key("options");
  w.BeginObject();
  w.Key("max_lag");
  w.Int(result.options.max_lag);
  w.Key("threshold");
  w.Number(result.options.threshold);
  w.Key("noise_band");
  w.Number(result.options.noise_band);
  w.Key("min_periods");
  w.Int(result.options.min_periods);
  w.EndObject();
  w.Key("validation");
  w.String(result.validation->name);
  w.Key("series");
  w.BeginArray();
  for (const MetricSeries& m : table.metrics) {
    w.BeginObject();
    w.Key("metric");
    w.String(m.name);
    w.Key("role");
    w.String(MetricRoleName(m.metadata.role));
    w.Key("reading");
    w.String(m.reading);
    w.Key("customer_value");
    w.String(m.metadata.customer_value);
    w.Key("decision_question");
    w.String(m.metadata.decision_question);
    w.Key("values");
    w.BeginArray();
    for (double v : m.values) w.Number(v);  // NaN (missing) is written as null
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("scores");
  w.BeginArray();
  for (const MetricScore& s : result.scores) {
    w.BeginObject();
    w.Key("metric");
    w.String(s.metric->name);
    w.Key("role");
    w.String(MetricRoleName(s.metric->metadata.role));
    w.Key("verdict");
    w.String(VerdictName(s.lead.verdict));
    w.Key("verdict_text");
    w.String(LeadVerdictText(s, result));
    w.Key("best_lag");
    if (s.lead.best_lag >= 0) {
      w.Int(s.lead.best_lag);
    } else {
      w.Null();
    }
    w.Key("r");
    Optional(s.lead.best.r, &w);
    w.Key("pairs");
    w.Int(s.lead.best.pairs);
    w.Key("lag_profile");
    w.BeginArray();
    for (size_t lag = 0; lag < s.lead.profile.size(); ++lag) {
      w.BeginObject();
      w.Key("lag");
      w.Int(static_cast<int64_t>(lag));
      w.Key("r");
      Optional(s.lead.profile[lag].r, &w);
      w.Key("pairs");
      w.Int(s.lead.profile[lag].pairs);
      w.EndObject();
    }
    w.EndArray();
    w.Key("moved");
    w.Int(s.movement.moved);
    w.Key("changes");
    w.Int(s.movement.changes);
    w.Key("share_moved");
    Optional(s.movement.share_moved, &w);
    w.Key("coefficient_of_variation");
    Optional(s.movement.coefficient_of_variation, &w);
    w.EndObject();
  }
  w.EndArray();
  w.Key("drivers");
  w.BeginArray();
  for (const DriverScore& d : result.drivers) {
    w.BeginObject();
    w.Key("input");
    w.String(d.input->name);
    w.Key("same_period");
    WriteCorrelation(d.result.same_period, &w);
    w.Key("next_period");
    WriteCorrelation(d.result.next_period, &w);
    w.EndObject();
  }
  w.EndArray();
  w.Key("skipped");
  w.BeginArray();
  for (const auto& [metric, reason] : table.skipped) {
    w.BeginObject();
    w.Key("metric");
    w.String(metric);
    w.Key("reason");
    w.String(reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace nsmd
