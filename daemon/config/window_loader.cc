#include "daemon/config/window_loader.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace nsmd {

WindowLoader::WindowLoader(YamlReader* reader, FieldCatalog* catalog)
    : reader_(reader), catalog_(catalog), filters_(reader, catalog) {}

bool WindowLoader::LoadUnit(const YAML::Node& n, const std::string& what, CalendarUnit* unit) {
  std::string s;
  if (!reader_->GetString(n, what, &s)) return false;
  static const std::pair<const char*, CalendarUnit> kUnits[] = {{"hour", CalendarUnit::kHour},
                                                                {"day", CalendarUnit::kDay},
                                                                {"week", CalendarUnit::kWeek},
                                                                {"month", CalendarUnit::kMonth}};
  for (const auto& [name, u] : kUnits) {
    if (s == name) {
      *unit = u;
      return true;
    }
  }
  reader_->Error(n, absl::StrCat(what, " must be hour, day, week or month, not \"", s, "\""));
  return false;
}

bool WindowLoader::Load(const YAML::Node& n, WindowSpec* w) {
  if (n.IsScalar()) {
    if (n.Scalar() == "lifetime") {
      w->kind = WindowKind::kLifetime;
      return true;
    }
    reader_->Error(n,
                   absl::StrCat("unknown window \"", n.Scalar(),
                                "\": lifetime, {tumbling: UNIT}, {rolling: DURATION} or {cohort: "
                                "{...}}"));
    return false;
  }
  if (!n.IsMap()) {
    reader_->Error(n, "expected lifetime or a mapping for window");
    return false;
  }
  bool known = true;
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    if (key == "tumbling" || key == "rolling" || key == "cohort") continue;
    if (key == "lifetime") {
      reader_->Error(kv.first,
                     "a lifetime window is written \"window: lifetime\", not as a mapping");
      known = false;
      continue;
    }
    const char* best = SuggestKey(key, {"tumbling", "rolling", "cohort", "lifetime"});
    reader_->Error(
        kv.first,
        best != nullptr
            ? absl::StrCat("unknown window kind \"", key, "\" (did you mean \"", best, "\"?)")
            : absl::StrCat("unknown window kind \"", key,
                           "\": lifetime, {tumbling: UNIT}, {rolling: DURATION} "
                           "or {cohort: {...}}"));
    known = false;
  }
  if (!known) return false;
  if (n.size() != 1) {
    reader_->Error(n, "a window is exactly one of lifetime, tumbling, rolling or cohort");
    return false;
  }
  if (n["tumbling"]) {
    w->kind = WindowKind::kTumbling;
    return LoadUnit(n["tumbling"], "window.tumbling", &w->unit);
  }
  if (n["rolling"]) {
    w->kind = WindowKind::kRolling;
    if (!reader_->GetDuration(n["rolling"], "window.rolling", &w->length)) return false;
    if (w->length < absl::Seconds(1)) {
      reader_->Error(n["rolling"], "a rolling window lasts at least 1s");
      return false;
    }
    return true;
  }
  w->kind = WindowKind::kCohort;
  const YAML::Node& c = n["cohort"];
  if (!reader_->CheckMap(c, "window.cohort", {"anchor", "entity", "length", "period"}))
    return false;
  bool ok = true;
  for (const char* required : {"anchor", "entity", "length"}) {
    if (!c[required]) {
      reader_->Error(c, absl::StrCat("a cohort window needs \"", required, "\"",
                                     std::string(required) == "anchor"
                                         ? " (the event that opens an entity's window, e.g. "
                                           "{event: team_created})"
                                         : ""));
      ok = false;
    }
  }
  if (c["anchor"]) ok &= filters_.Load(c["anchor"], "window.cohort.anchor", &w->anchor);
  if (c["anchor"] && c["anchor"].IsMap() && !c["anchor"]["event"] && !c["anchor"]["where"]) {
    reader_->Error(c["anchor"], "a cohort anchor needs an \"event\"");
    ok = false;
  }
  if (c["entity"])
    ok &= reader_->GetFieldPath(c["entity"], "window.cohort.entity", catalog_, &w->cohort_entity);
  if (c["length"] && reader_->GetDuration(c["length"], "window.cohort.length", &w->length) &&
      w->length <= absl::ZeroDuration()) {
    reader_->Error(c["length"], "a cohort window's length must be positive");
    ok = false;
  }
  if (c["period"]) ok &= LoadUnit(c["period"], "window.cohort.period", &w->period);
  return ok;
}

}  // namespace nsmd
