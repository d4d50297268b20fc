#include "daemon/config/metric_loader.h"

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/config/alert_loader.h"

namespace nsmd {
namespace {

// FNV-1a, 64 bit: a digest that is the same on every machine and run.
std::string Fnv1aHex(absl::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

}  // namespace

MetricLoader::MetricLoader(YamlReader* reader, DaemonConfig* config, FingerprintContext written)
    : reader_(reader),
      config_(config),
      written_(std::move(written)),
      filters_(reader, config->catalog.get()),
      measures_(reader, config->catalog.get()),
      windows_(reader, config->catalog.get()) {}

void MetricLoader::Load(const YAML::Node& n) {
  if (!n.IsSequence() || n.size() == 0) {
    reader_->Error(n, "expected a list of metric definitions for \"metrics\"");
    return;
  }
  std::vector<Parsed> parsed;
  absl::flat_hash_map<std::string, size_t> index;
  // Metrics whose name was read but whose definition has errors (already
  // reported): references to them and their role raise no follow-on errors.
  absl::flat_hash_map<std::string, MetricRole> failed;
  std::vector<Parsed> failed_north_stars;
  absl::flat_hash_set<std::string> names;
  bool unknown_role = false;
  for (const YAML::Node& m : n) {
    Parsed p;
    p.node = m;
    bool ok = false;
    try {
      ok = LoadMetric(m, &p);
    } catch (const YAML::Exception& e) {
      // Not expected; report it where it happened and go on with the rest.
      reader_->AddAt(ConfigDiagnostic::Severity::kError,
                     e.mark.is_null() ? reader_->context() : e.mark, e.msg);
    }
    reader_->set_context(YAML::Mark());
    unknown_role |= !p.role_ok;
    if (p.name_ok && !names.insert(p.def.name).second) {
      reader_->Error(m["name"], absl::StrCat("metric \"", p.def.name, "\" is defined twice"));
      continue;
    }
    if (!ok) {
      if (p.name_ok) failed.emplace(p.def.name, p.def.metadata.role);
      if (p.def.metadata.role == MetricRole::kNorthStar) failed_north_stars.push_back(p);
      continue;
    }
    index.emplace(p.def.name, parsed.size());
    parsed.push_back(std::move(p));
  }
  // References: ratio operands and inputs must exist.
  for (Parsed& p : parsed) {
    const MeasureSpec& ms = p.def.measure;
    if (ms.kind == MeasureKind::kRatio) {
      for (const char* side : {"numerator", "denominator"}) {
        const std::string& name = std::string(side) == "numerator" ? ms.numerator : ms.denominator;
        if (!index.contains(name) && !failed.contains(name)) {
          reader_->Error(
              p.node["measure"]["ratio"][side],
              absl::StrCat("ratio ", side, " \"", name, "\" is not a metric of this config"));
        }
      }
    }
    if (p.node["inputs"]) {
      size_t i = 0;
      for (const std::string& input : p.def.metadata.inputs) {
        const YAML::Node at =
            p.node["inputs"].IsSequence() ? p.node["inputs"][i] : p.node["inputs"];
        if (!index.contains(input) && !failed.contains(input)) {
          reader_->Error(at, absl::StrCat("input \"", input, "\" is not a metric of this config"));
        } else if (input == p.def.name) {
          reader_->Error(at, absl::StrCat("metric \"", input, "\" cannot be its own input"));
        }
        ++i;
      }
    }
  }
  CheckRatioCycles(parsed, index);
  // Ratios take their operands' window; operands must agree.
  for (Parsed& p : parsed) ResolveRatioWindow(p, parsed, index);
  // Exactly one north star (counting metrics with errors whose role was
  // read, in file order).
  std::vector<const Parsed*> north_stars;
  for (const Parsed& p : parsed) {
    if (p.def.metadata.role == MetricRole::kNorthStar) north_stars.push_back(&p);
  }
  for (const Parsed& p : failed_north_stars) north_stars.push_back(&p);
  std::stable_sort(north_stars.begin(), north_stars.end(),
                   [this](const Parsed* a, const Parsed* b) {
                     const YAML::Mark ma = reader_->MarkOf(a->node), mb = reader_->MarkOf(b->node);
                     return std::tie(ma.line, ma.column) < std::tie(mb.line, mb.column);
                   });
  // With an unreadable role somewhere, "no north star" may be a follow-on.
  if (north_stars.empty() && !parsed.empty() && !unknown_role) {
    reader_->Error(n,
                   "no metric has role north_star: exactly one must (the metric that measures the "
                   "value customers get)");
  }
  for (size_t i = 1; i < north_stars.size(); ++i) {
    reader_->Error(
        north_stars[i]->node["role"],
        absl::StrCat("a second north_star (\"", north_stars[i]->def.name, "\"; the first is \"",
                     north_stars[0]->def.name,
                     "\"): exactly one metric is the north star; make this one a focus or "
                     "input"));
  }
  // Candidates are only ever scored against a validation metric.
  const bool has_validation = std::any_of(parsed.begin(), parsed.end(), [](const Parsed& p) {
    return p.def.metadata.role == MetricRole::kValidation;
  });
  for (const Parsed& p : parsed) {
    if (p.def.metadata.role == MetricRole::kCandidate && !has_validation) {
      reader_->Warning(p.node["role"],
                       absl::StrCat("candidate \"", p.def.name,
                                    "\" has nothing to be validated "
                                    "against: no metric has role validation (e.g. revenue)"));
    }
  }
  for (Parsed& p : parsed) config_->metrics.push_back(std::move(p.def));
}

void MetricLoader::CheckRatioCycles(const std::vector<Parsed>& parsed,
                                    const absl::flat_hash_map<std::string, size_t>& index) {
  // Ratio -> operand edges (an operand named twice is one edge).
  std::vector<std::vector<size_t>> next(parsed.size());
  for (size_t i = 0; i < parsed.size(); ++i) {
    const MeasureSpec& ms = parsed[i].def.measure;
    if (ms.kind != MeasureKind::kRatio) continue;
    for (const std::string& operand : {ms.numerator, ms.denominator}) {
      auto it = index.find(operand);
      if (it != index.end() &&
          std::find(next[i].begin(), next[i].end(), it->second) == next[i].end()) {
        next[i].push_back(it->second);
      }
    }
  }
  // Elementary cycles whose smallest member is `start`: a search from
  // `start` through larger members only finds each cycle exactly once.
  // Configs are small; the step budget only guards against pathological
  // input.
  int budget = 100000;
  std::vector<bool> on_path(parsed.size(), false);
  std::vector<size_t> path;
  std::function<void(size_t, size_t)> visit = [&](size_t start, size_t i) {
    if (--budget < 0) return;
    path.push_back(i);
    on_path[i] = true;
    for (size_t j : next[i]) {
      if (j == start) {
        std::vector<std::string> names;
        for (size_t k : path) names.push_back(parsed[k].def.name);
        names.push_back(parsed[start].def.name);
        reader_->Error(parsed[start].node["measure"],
                       absl::StrCat("ratio cycle: ", absl::StrJoin(names, " -> ")));
      } else if (j > start && !on_path[j]) {
        visit(start, j);
      }
    }
    on_path[i] = false;
    path.pop_back();
  };
  for (size_t start = 0; start < parsed.size(); ++start) visit(start, start);
}

bool MetricLoader::ResolveRatioWindow(Parsed& p, std::vector<Parsed>& parsed,
                                      const absl::flat_hash_map<std::string, size_t>& index) {
  MeasureSpec& ms = p.def.measure;
  if (ms.kind != MeasureKind::kRatio) return true;
  // Each ratio is resolved (and its errors reported) once; meeting one
  // that is in progress means a cycle, reported already.
  if (p.resolve_state != Parsed::kUnresolved) return p.resolve_state == Parsed::kResolved;
  p.resolve_state = Parsed::kInProgress;
  const bool ok = ResolveRatioOperands(p, parsed, index);
  p.resolve_state = ok ? Parsed::kResolved : Parsed::kFailed;
  return ok;
}

bool MetricLoader::ResolveRatioOperands(Parsed& p, std::vector<Parsed>& parsed,
                                        const absl::flat_hash_map<std::string, size_t>& index) {
  const MeasureSpec& ms = p.def.measure;
  auto num = index.find(ms.numerator), den = index.find(ms.denominator);
  if (num == index.end() || den == index.end()) return false;
  if (!ResolveRatioWindow(parsed[num->second], parsed, index) ||
      !ResolveRatioWindow(parsed[den->second], parsed, index)) {
    return false;
  }
  const MetricDefinition& a = parsed[num->second].def;
  const MetricDefinition& b = parsed[den->second].def;
  if (WindowText(a.window) != WindowText(b.window)) {
    reader_->Error(p.node["measure"],
                   absl::StrCat("ratio operands \"", a.name, "\" and \"", b.name,
                                "\" have different windows; a ratio divides window by window"));
    return false;
  }
  const Parsed& pa = parsed[num->second];
  const Parsed& pb = parsed[den->second];
  if (pa.group_text != pb.group_text) {
    reader_->Error(
        p.node["measure"],
        absl::StrCat("ratio operands \"", a.name, "\" and \"", b.name,
                     "\" have different group_by (", pa.group_text, " vs ", pb.group_text,
                     "); a ratio divides each numerator series by the denominator series "
                     "with the same labels, so it would yield no sample"));
    return false;
  }
  if (pa.anchor_text != pb.anchor_text) {
    reader_->Error(
        p.node["measure"],
        absl::StrCat("ratio operands \"", a.name, "\" and \"", b.name,
                     "\" are cohorts with different anchors (", pa.anchor_text, " vs ",
                     pb.anchor_text,
                     "); their cohort periods hold different entities and do not line up, "
                     "so the ratio would yield no sample"));
    return false;
  }
  if (p.has_window && WindowText(p.def.window) != WindowText(a.window)) {
    reader_->Error(p.node["window"], "a ratio's window, when given, must be its operands' window");
    return false;
  }
  p.def.window = a.window;
  p.group_text = pa.group_text;
  p.anchor_text = pa.anchor_text;
  return true;
}

std::string MetricLoader::WindowText(const WindowSpec& w) {
  return absl::StrCat(static_cast<int>(w.kind), "/", static_cast<int>(w.unit), "/",
                      absl::ToInt64Milliseconds(w.length), "/", static_cast<int>(w.period), "/",
                      w.cohort_entity);
}

bool MetricLoader::LoadMetric(const YAML::Node& n, Parsed* p) {
  reader_->set_context(reader_->MarkOf(n));
  if (!reader_->CheckMap(n, "metric",
                         {"name", "role", "inputs", "description", "customer_value",
                          "decision_question", "cadence", "owner", "unit", "filter", "measure",
                          "window", "group_by", "max_series", "alert"})) {
    return false;
  }
  MetricDefinition& d = p->def;
  bool ok = true;
  if (!n["name"]) {
    reader_->Error(n, "a metric needs a \"name\"");
    ok = false;
  } else if (!reader_->GetString(n["name"], "name", &d.name)) {
    ok = false;
  } else if (!IsConfigName(d.name)) {
    reader_->Error(n["name"],
                   absl::StrCat("metric name \"", d.name,
                                "\" must be letters, digits and _ (not starting with a digit)"));
    ok = false;
  } else {
    p->name_ok = true;
  }
  if (n["role"]) {
    p->role_ok = false;
    std::string role;
    if (reader_->GetString(n["role"], "role", &role)) {
      static const std::pair<const char*, MetricRole> kRoles[] = {
          {"north_star", MetricRole::kNorthStar},  {"input", MetricRole::kInput},
          {"focus", MetricRole::kFocus},           {"guardrail", MetricRole::kGuardrail},
          {"validation", MetricRole::kValidation}, {"candidate", MetricRole::kCandidate}};
      bool found = false;
      for (const auto& [name, r] : kRoles) {
        if (role == name) {
          d.metadata.role = r;
          found = true;
          p->role_ok = true;
        }
      }
      if (!found) {
        reader_->Error(
            n["role"],
            absl::StrCat("unknown role \"", role,
                         "\": north_star, input, focus, guardrail, validation or candidate"));
        ok = false;
      }
    }
  }
  if (n["inputs"]) ok &= reader_->GetStringList(n["inputs"], "inputs", &d.metadata.inputs);
  for (const auto& [key, field] :
       {std::pair<const char*, std::string*>{"description", &d.metadata.description},
        {"customer_value", &d.metadata.customer_value},
        {"decision_question", &d.metadata.decision_question},
        {"cadence", &d.metadata.cadence},
        {"owner", &d.metadata.owner},
        {"unit", &d.metadata.unit}}) {
    if (n[key]) ok &= reader_->GetString(n[key], key, field);
  }
  if (n["filter"]) ok &= filters_.Load(n["filter"], "filter", &d.filter);
  if (!n["measure"]) {
    reader_->Error(n, absl::StrCat("metric \"", d.name, "\" needs a \"measure\""));
    ok = false;
  } else {
    ok &= measures_.Load(n["measure"], &d.measure);
  }
  p->has_window = static_cast<bool>(n["window"]);
  if (!n["window"]) {
    if (d.measure.kind != MeasureKind::kRatio) {
      reader_->Error(n, absl::StrCat("metric \"", d.name, "\" needs a \"window\""));
      ok = false;
    }
  } else {
    ok &= windows_.Load(n["window"], &d.window);
  }
  if (ok && d.measure.kind == MeasureKind::kEntities && d.window.kind == WindowKind::kRolling) {
    reader_->Error(n["window"],
                   "an entities measure needs a tumbling, cohort or lifetime window (a "
                   "rolling window of per-entity thresholds is not supported)");
    ok = false;
  }
  if (ok && d.measure.kind == MeasureKind::kRatio && (n["filter"] || n["group_by"])) {
    reader_->Error(n["filter"] ? n["filter"] : n["group_by"],
                   "a ratio takes its filter and group-by from its operands");
    ok = false;
  }
  if (n["group_by"]) {
    const YAML::Node& g = n["group_by"];
    if (!g.IsMap()) {
      reader_->Error(g, "expected a mapping of label: field path for group_by");
      ok = false;
    } else {
      for (const auto& kv : g) {
        GroupBy group;
        group.label = kv.first.Scalar();
        if (!IsConfigName(group.label) || group.label.rfind("__", 0) == 0 ||
            group.label == "metric" || group.label == "window") {
          reader_->Error(kv.first,
                         absl::StrCat("\"", group.label,
                                      "\" cannot be a label name (letters, digits, _; not "
                                      "starting with __; not metric or window)"));
          ok = false;
          continue;
        }
        if (reader_->GetFieldPath(kv.second, absl::StrCat("group_by.", group.label),
                                  config_->catalog.get(), &group.field)) {
          d.group_by.push_back(group);
        } else {
          ok = false;
        }
      }
    }
    if (!n["max_series"]) {
      reader_->Warning(
          g, absl::StrCat("high-cardinality risk: group_by without max_series in metric \"", d.name,
                          "\" (capped at the default of ", kDefaultMaxSeries,
                          " series; the rest fold into __other__)"));
    }
  }
  if (n["max_series"]) {
    int64_t v = 0;
    if (reader_->GetInt(n["max_series"], "max_series", 1, &v)) {
      d.max_series = static_cast<int>(v);
    } else {
      ok = false;
    }
  }
  std::vector<std::string> groups;
  for (const GroupBy& g : d.group_by) {
    groups.push_back(absl::StrCat(g.label, ": ", config_->catalog->path(g.field)));
  }
  p->group_text = groups.empty() ? "none" : absl::StrCat("{", absl::StrJoin(groups, ", "), "}");
  const YAML::Node window = n["window"];
  if (ok && d.window.kind == WindowKind::kCohort && window.IsMap() && window["cohort"].IsMap() &&
      window["cohort"]["anchor"].IsMap()) {
    std::vector<std::string> anchor_names(d.window.anchor.names().begin(),
                                          d.window.anchor.names().end());
    std::sort(anchor_names.begin(), anchor_names.end());
    const YAML::Node anchor = window["cohort"]["anchor"];
    p->anchor_text = absl::StrCat("{event: [", absl::StrJoin(anchor_names, ", "), "]");
    if (anchor["where"]) {
      YAML::Emitter where;
      where << YAML::Flow << anchor["where"];
      absl::StrAppend(&p->anchor_text, ", where: ", where.c_str());
    }
    p->anchor_text.push_back('}');
  }
  if (n["alert"]) {
    AlertSpec alert;
    if (AlertLoader(reader_).LoadAlert(n["alert"], d, &alert)) {
      config_->alerts[d.name] = std::move(alert);
    } else {
      ok = false;
    }
  }
  // What the numbers depend on: the definition and the calendar/format.
  YAML::Emitter canonical;
  canonical << YAML::Flow << YAML::BeginSeq;
  for (const char* key : {"filter", "measure", "window", "group_by", "max_series"}) {
    canonical << (n[key] ? n[key] : YAML::Node("-"));
  }
  canonical << written_.zone << written_.week_start << written_.format << YAML::EndSeq;
  d.fingerprint = Fnv1aHex(canonical.c_str());
  return ok;
}

}  // namespace nsmd
