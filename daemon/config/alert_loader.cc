#include "daemon/config/alert_loader.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/config/duration_text.h"
#include "re2/re2.h"

namespace nsmd {

bool AlertLoader::Url(const YAML::Node& n, const std::string& what, std::string* out) {
  if (!n.IsScalar() ||
      !(absl::StartsWith(n.Scalar(), "http://") || absl::StartsWith(n.Scalar(), "https://"))) {
    reader_->Error(n, absl::StrCat("expected an http:// or https:// URL for ", what));
    return false;
  }
  *out = n.Scalar();
  return true;
}

bool AlertLoader::LoadAlert(const YAML::Node& n, const MetricDefinition& metric, AlertSpec* out) {
  const std::string what = absl::StrCat("the alert of metric \"", metric.name, "\"");
  if (!reader_->CheckMap(n, what,
                         {"drop_percent", "compare_to", "stall_windows", "below", "above", "for",
                          "severity", "labels"})) {
    return false;
  }
  bool ok = true;
  double v = 0;
  if (n["drop_percent"]) {
    if (!reader_->GetNumber(n["drop_percent"], "alert.drop_percent", &v)) {
      ok = false;
    } else if (v <= 0 || v > 100) {
      reader_->Error(n["drop_percent"], "alert.drop_percent must be above 0 and at most 100");
      ok = false;
    } else {
      out->drop_percent = v;
    }
  }
  if (n["compare_to"]) {
    const YAML::Node& c = n["compare_to"];
    absl::Duration d;
    if (c.IsScalar() && c.Scalar() == "previous_window") {
      out->compare_to.reset();
    } else if (!c.IsScalar() || !ParseDurationText(c.Scalar()).ok()) {
      reader_->Error(c,
                     "alert.compare_to must be previous_window or a duration such as 4w (the same "
                     "point of the window that long ago)");
      ok = false;
    } else if (reader_->GetDuration(c, "alert.compare_to", &d) && d <= absl::ZeroDuration()) {
      reader_->Error(c, "alert.compare_to must be a positive duration");
      ok = false;
    } else {
      out->compare_to = d;
    }
    if (!n["drop_percent"]) {
      reader_->Error(c, "alert.compare_to is the baseline of drop_percent, which is not set");
      ok = false;
    }
  }
  if (out->drop_percent && !out->compare_to && metric.measure.kind != MeasureKind::kRatio &&
      metric.window.kind == WindowKind::kLifetime) {
    reader_->Error(n["drop_percent"],
                   absl::StrCat("metric \"", metric.name,
                                "\" has a lifetime window, which has no "
                                "previous window: give alert.compare_to a duration (e.g. 1w)"));
    ok = false;
  }
  if (n["stall_windows"]) {
    const YAML::Node& s = n["stall_windows"];
    int64_t windows = 0;
    if (!s.IsScalar() || !absl::SimpleAtoi(s.Scalar(), &windows) || windows < 1 || windows > 52) {
      reader_->Error(s, "alert.stall_windows must be a whole number of windows from 1 to 52");
      ok = false;
    } else {
      out->stall_windows = static_cast<int>(windows);
    }
  }
  for (const auto& [key, field] :
       {std::pair<const char*, std::optional<double>*>{"below", &out->below},
        {"above", &out->above}}) {
    if (!n[key]) continue;
    if (reader_->GetNumber(n[key], absl::StrCat("alert.", key), &v)) {
      *field = v;
    } else {
      ok = false;
    }
  }
  if (out->below && out->above && *out->below >= *out->above) {
    reader_->Error(n["above"],
                   "alert.above must be greater than alert.below (the value could never be "
                   "fine)");
    ok = false;
  }
  if (n["for"]) {
    absl::Duration d;
    if (reader_->GetDuration(n["for"], "alert.for", &d)) {
      out->for_duration = d;
    } else {
      ok = false;
    }
  }
  if (n["severity"]) {
    const YAML::Node& s = n["severity"];
    if (!s.IsScalar() ||
        (s.Scalar() != "critical" && s.Scalar() != "warning" && s.Scalar() != "info")) {
      reader_->Error(s, "alert.severity must be critical, warning or info");
      ok = false;
    } else {
      out->severity = s.Scalar();
    }
  }
  if (n["labels"]) {
    const YAML::Node& l = n["labels"];
    if (!l.IsMap()) {
      reader_->Error(l, "expected a mapping of label: value for alert.labels");
      ok = false;
    } else {
      static const RE2 kLabel("[a-zA-Z_][a-zA-Z0-9_]*");
      for (const auto& kv : l) {
        const std::string label = kv.first.Scalar();
        if (!RE2::FullMatch(label, kLabel) || absl::StartsWith(label, "__") ||
            label == "alertname" || label == "severity" || label == "metric" || label == "owner") {
          reader_->Error(kv.first, absl::StrCat("\"", label,
                                                "\" cannot be an alert label (letters, "
                                                "digits, _; not starting with __; not alertname, "
                                                "severity, metric or owner, which nsmd sets)"));
          ok = false;
        } else if (!kv.second.IsScalar()) {
          reader_->Error(kv.second, absl::StrCat("expected a string for alert.labels.", label));
          ok = false;
        } else {
          out->labels[label] = kv.second.Scalar();
        }
      }
    }
  }
  if (ok && !out->drop_percent && out->stall_windows == 0 && !out->below && !out->above) {
    reader_->Error(n, absl::StrCat(what,
                                   " watches nothing: give drop_percent, stall_windows, below or "
                                   "above"));
    ok = false;
  }
  return ok;
}

bool AlertLoader::LoadAlerting(const YAML::Node& n, AlertingConfig* out) {
  if (!reader_->CheckMap(n, "alerting", {"runbook_url", "dashboard_url", "rejected_share"})) {
    return false;
  }
  bool ok = true;
  if (n["runbook_url"]) ok &= Url(n["runbook_url"], "alerting.runbook_url", &out->runbook_url);
  if (n["dashboard_url"]) {
    ok &= Url(n["dashboard_url"], "alerting.dashboard_url", &out->dashboard_url);
  }
  if (n["rejected_share"]) {
    double v = 0;
    if (!reader_->GetNumber(n["rejected_share"], "alerting.rejected_share", &v)) {
      ok = false;
    } else if (v <= 0 || v >= 1) {
      reader_->Error(n["rejected_share"],
                     "alerting.rejected_share must be between 0 and 1 (e.g. 0.05)");
      ok = false;
    } else {
      out->rejected_share = v;
    }
  }
  return ok;
}

}  // namespace nsmd
