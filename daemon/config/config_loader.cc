#include "daemon/config/config_loader.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/config/duration_text.h"
#include "re2/re2.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

std::string ConfigDiagnostic::ToString() const {
  return absl::StrCat(file, ":", line, ":", column, ": ",
                      severity == Severity::kWarning ? "warning: " : "", message);
}

namespace {

using KeyList = std::initializer_list<const char*>;

// Edit distance, for "did you mean" suggestions.
size_t Levenshtein(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// FNV-1a, 64 bit: a digest that is the same on every machine and run.
std::string Fnv1aHex(absl::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

bool ValidName(absl::string_view name) {
  static const RE2 re("[a-zA-Z_][a-zA-Z0-9_]*");
  return RE2::FullMatch(re2::StringPiece(name.data(), name.size()), re);
}

bool ValidFieldPath(absl::string_view path) {
  static const RE2 re("[^.\\s]+(\\.[^.\\s]+)*");
  return RE2::FullMatch(re2::StringPiece(path.data(), path.size()), re);
}

// Reads one YAML document into a DaemonConfig, collecting every problem.
class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) { config_.path = file_; }

  ConfigLoadResult Load(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      Add(ConfigDiagnostic::Severity::kError, e.mark.line + 1, e.mark.column + 1, e.msg);
      return Finish();
    } catch (const YAML::Exception& e) {
      Add(ConfigDiagnostic::Severity::kError, 1, 1, e.what());
      return Finish();
    }
    try {
      CheckDuplicateKeys(root, 0);
      LoadRoot(root);
    } catch (const YAML::Exception& e) {
      AddAt(ConfigDiagnostic::Severity::kError, e.mark.is_null() ? context_ : e.mark, e.msg);
    }
    return Finish();
  }

 private:
  // Lines and columns are 1-based; a position that is not known is reported
  // at 1:1 rather than 0:0.
  void Add(ConfigDiagnostic::Severity severity, int line, int column, std::string message) {
    diagnostics_.push_back(ConfigDiagnostic{severity, file_, std::max(line, 1), std::max(column, 1),
                                            std::move(message)});
  }
  void AddAt(ConfigDiagnostic::Severity severity, const YAML::Mark& m, std::string message) {
    Add(severity, m.line + 1, m.column + 1, std::move(message));
  }
  // Where `at` is; for a node without a position (absent, or built rather
  // than parsed), the innermost enclosing definition's position.
  YAML::Mark MarkOf(const YAML::Node& at) const {
    if (!at.IsDefined()) return context_;
    const YAML::Mark m = at.Mark();
    return m.is_null() ? context_ : m;
  }
  void Error(const YAML::Node& at, std::string message) {
    AddAt(ConfigDiagnostic::Severity::kError, MarkOf(at), std::move(message));
  }
  void Warning(const YAML::Node& at, std::string message) {
    AddAt(ConfigDiagnostic::Severity::kWarning, MarkOf(at), std::move(message));
  }

  // Reports every key that appears twice in one mapping, at the second
  // occurrence (YAML would silently keep only one of them).
  void CheckDuplicateKeys(const YAML::Node& n, int depth) {
    if (depth > 64) return;  // deeper than any config; the loader rejects it elsewhere
    if (n.IsMap()) {
      absl::flat_hash_map<std::string, YAML::Mark> seen;
      for (const auto& kv : n) {
        if (kv.first.IsScalar()) {
          const YAML::Mark m = MarkOf(kv.first);
          auto [it, inserted] = seen.try_emplace(kv.first.Scalar(), m);
          if (!inserted) {
            Error(kv.first, absl::StrCat("duplicate key \"", kv.first.Scalar(),
                                         "\" (first at line ", it->second.line + 1, ", column ",
                                         it->second.column + 1, ")"));
          }
        }
        CheckDuplicateKeys(kv.second, depth + 1);
      }
    } else if (n.IsSequence()) {
      for (const YAML::Node& item : n) CheckDuplicateKeys(item, depth + 1);
    }
  }

  // The closest of `allowed` to `key` (edit distance below 3), or null.
  static const char* Suggest(const std::string& key, KeyList allowed) {
    const char* best = nullptr;
    size_t best_distance = 3;
    for (const char* a : allowed) {
      const size_t d = Levenshtein(key, a);
      if (d < best_distance) {
        best = a;
        best_distance = d;
      }
    }
    return best;
  }

  ConfigLoadResult Finish() {
    ConfigLoadResult result;
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const ConfigDiagnostic& a, const ConfigDiagnostic& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    bool errors = false;
    for (const ConfigDiagnostic& d : diagnostics_) {
      errors |= d.severity == ConfigDiagnostic::Severity::kError;
    }
    if (!errors) result.config = std::move(config_);
    result.diagnostics = std::move(diagnostics_);
    return result;
  }

  // Reports keys of `map` not in `allowed` (with a suggestion). False if
  // `map` is not a mapping at all.
  bool CheckMap(const YAML::Node& map, const std::string& what, KeyList allowed) {
    if (!map.IsMap()) {
      Error(map, absl::StrCat("expected a mapping for ", what));
      return false;
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (std::find_if(allowed.begin(), allowed.end(),
                       [&](const char* a) { return key == a; }) != allowed.end()) {
        continue;
      }
      std::string message = absl::StrCat("unknown key \"", key, "\" in ", what);
      const char* best = Suggest(key, allowed);
      if (best != nullptr) absl::StrAppend(&message, "; did you mean \"", best, "\"?");
      Error(kv.first, message);
    }
    return true;
  }

  bool GetString(const YAML::Node& node, const std::string& what, std::string* out) {
    if (!node.IsScalar()) {
      Error(node, absl::StrCat("expected a string for ", what));
      return false;
    }
    *out = node.Scalar();
    return true;
  }
  bool GetBool(const YAML::Node& node, const std::string& what, bool* out) {
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, *out)) {
      Error(node, absl::StrCat("expected true or false for ", what));
      return false;
    }
    return true;
  }
  bool GetInt(const YAML::Node& node, const std::string& what, int64_t min, int64_t* out) {
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), out)) {
      Error(node, absl::StrCat("expected an integer for ", what));
      return false;
    }
    if (*out < min) {
      Error(node, absl::StrCat(what, " must be at least ", min));
      return false;
    }
    return true;
  }
  bool GetNumber(const YAML::Node& node, const std::string& what, double* out) {
    if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), out)) {
      Error(node, absl::StrCat("expected a number for ", what));
      return false;
    }
    return true;
  }
  bool GetDuration(const YAML::Node& node, const std::string& what, absl::Duration* out) {
    if (!node.IsScalar()) {
      Error(node, absl::StrCat("expected a duration (e.g. 7d, 72h, 30s) for ", what));
      return false;
    }
    auto d = ParseDurationText(node.Scalar());
    if (!d.ok()) {
      Error(node, std::string(d.status().message()));
      return false;
    }
    *out = *d;
    return true;
  }
  bool GetStringList(const YAML::Node& node, const std::string& what,
                     std::vector<std::string>* out) {
    out->clear();
    if (node.IsScalar()) {
      out->push_back(node.Scalar());
      return true;
    }
    if (!node.IsSequence()) {
      Error(node, absl::StrCat("expected a string or a list of strings for ", what));
      return false;
    }
    bool ok = true;
    for (const YAML::Node& item : node) {
      std::string s;
      if (GetString(item, what, &s)) {
        out->push_back(s);
      } else {
        ok = false;
      }
    }
    return ok;
  }
  bool GetFieldPath(const YAML::Node& node, const std::string& what, FieldId* out) {
    std::string path;
    if (!GetString(node, what, &path)) return false;
    if (!ValidFieldPath(path)) {
      Error(node, absl::StrCat("\"", path, "\" is not a field path (dotted keys, e.g. "
                               "properties.plan) for ", what));
      return false;
    }
    *out = config_.catalog->Intern(path);
    return true;
  }

  void LoadRoot(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) {
      Add(ConfigDiagnostic::Severity::kError, 1, 1, "the config is empty: it needs \"metrics\"");
      return;
    }
    if (!CheckMap(root, "the config",
                  {"kafka", "generator", "state", "http", "events", "time", "metrics"})) {
      return;
    }
    if (root["kafka"]) LoadKafka(root["kafka"]);
    if (root["generator"]) LoadGenerator(root["generator"]);
    if (root["state"]) LoadState(root["state"]);
    if (root["http"]) LoadHttp(root["http"]);
    // Time and events first: fingerprints of metrics include them.
    if (root["time"]) LoadTime(root["time"]);
    if (root["events"]) LoadEvents(root["events"]);
    if (!root["metrics"]) {
      Add(ConfigDiagnostic::Severity::kError, 1, 1,
          "no \"metrics\": a config defines at least the north star metric");
      return;
    }
    LoadMetrics(root["metrics"]);
  }

  void LoadKafka(const YAML::Node& n) {
    if (!CheckMap(n, "kafka",
                  {"brokers", "topics", "group_id", "properties", "start_offset", "assignment",
                   "embedded_partitions", "max_message_bytes", "dead_letter_topic"})) {
      return;
    }
    KafkaConfig& k = config_.kafka;
    if (n["brokers"]) GetString(n["brokers"], "kafka.brokers", &k.brokers);
    if (n["topics"] && GetStringList(n["topics"], "kafka.topics", &k.topics) && k.topics.empty()) {
      Error(n["topics"], "kafka.topics needs at least one topic");
    }
    if (n["group_id"]) GetString(n["group_id"], "kafka.group_id", &k.group_id);
    if (n["properties"]) {
      const YAML::Node& p = n["properties"];
      if (!p.IsMap()) {
        Error(p, "expected a mapping of librdkafka properties for kafka.properties");
      } else {
        for (const auto& kv : p) {
          std::string value;
          if (GetString(kv.second, absl::StrCat("kafka.properties.", kv.first.Scalar()), &value)) {
            k.properties[kv.first.Scalar()] = value;
          }
        }
      }
    }
    if (n["start_offset"] && GetString(n["start_offset"], "kafka.start_offset", &k.start_offset) &&
        k.start_offset != "earliest" && k.start_offset != "latest") {
      Error(n["start_offset"], "kafka.start_offset must be earliest or latest");
    }
    std::string assignment;
    if (n["assignment"] && GetString(n["assignment"], "kafka.assignment", &assignment)) {
      if (assignment == "group") {
        k.assignment = PartitionAssignment::kGroup;
      } else if (assignment == "all") {
        k.assignment = PartitionAssignment::kAllPartitions;
      } else {
        Error(n["assignment"],
              "kafka.assignment must be group (the consumer group assigns partitions) or all "
              "(this instance reads every partition of kafka.topics)");
      }
    }
    int64_t v = 0;
    if (n["embedded_partitions"] &&
        GetInt(n["embedded_partitions"], "kafka.embedded_partitions", 1, &v)) {
      k.embedded_partitions = static_cast<int>(v);
    }
    if (n["max_message_bytes"] && GetInt(n["max_message_bytes"], "kafka.max_message_bytes", 1, &v)) {
      k.max_message_bytes = v;
    }
    if (n["dead_letter_topic"]) {
      GetString(n["dead_letter_topic"], "kafka.dead_letter_topic", &k.dead_letter_topic);
    }
  }

  void LoadGenerator(const YAML::Node& n) {
    if (!CheckMap(n, "generator", {"enabled", "events_per_second", "teams", "seed", "time_scale",
                                     "history"})) {
      return;
    }
    GeneratorConfig& g = config_.generator;
    if (n["enabled"]) GetBool(n["enabled"], "generator.enabled", &g.enabled);
    if (n["events_per_second"]) {
      GetNumber(n["events_per_second"], "generator.events_per_second", &g.events_per_second);
    }
    int64_t v = 0;
    if (n["teams"] && GetInt(n["teams"], "generator.teams", 1, &v)) g.teams = static_cast<int>(v);
    if (n["seed"] && GetInt(n["seed"], "generator.seed", 0, &v)) g.seed = static_cast<uint64_t>(v);
    if (n["time_scale"] && GetNumber(n["time_scale"], "generator.time_scale", &g.time_scale) &&
        g.time_scale <= 0) {
      Error(n["time_scale"], "generator.time_scale must be positive");
    }
    if (n["history"] && GetDuration(n["history"], "generator.history", &g.history) &&
        g.history < absl::ZeroDuration()) {
      Error(n["history"], "generator.history must not be negative");
    }
  }

  void LoadState(const YAML::Node& n) {
    if (!CheckMap(n, "state", {"dir", "checkpoint_interval"})) return;
    if (n["dir"]) GetString(n["dir"], "state.dir", &config_.state.dir);
    if (n["checkpoint_interval"] &&
        GetDuration(n["checkpoint_interval"], "state.checkpoint_interval",
                    &config_.state.checkpoint_interval) &&
        config_.state.checkpoint_interval <= absl::ZeroDuration()) {
      Error(n["checkpoint_interval"], "state.checkpoint_interval must be positive");
    }
  }

  void LoadHttp(const YAML::Node& n) {
    if (!CheckMap(n, "http", {"listen"})) return;
    if (n["listen"] && GetString(n["listen"], "http.listen", &config_.http.listen)) {
      static const RE2 re("[^:\\s]+:[0-9]{1,5}");
      if (!RE2::FullMatch(config_.http.listen, re)) {
        Error(n["listen"], "http.listen must be HOST:PORT, e.g. 0.0.0.0:9464");
      }
    }
  }

  void LoadTime(const YAML::Node& n) {
    if (!CheckMap(n, "time", {"zone", "week_start", "allowed_lateness"})) return;
    EngineOptions& e = config_.engine;
    std::string s;
    if (n["zone"] && GetString(n["zone"], "time.zone", &s)) {
      if (!absl::LoadTimeZone(s, &e.time_zone)) {
        Error(n["zone"], absl::StrCat("unknown time zone \"", s,
                                      "\" (an IANA name such as UTC or Europe/Berlin)"));
      }
      zone_name_ = s;
    }
    if (n["week_start"] && GetString(n["week_start"], "time.week_start", &s)) {
      static const std::pair<const char*, absl::Weekday> kDays[] = {
          {"monday", absl::Weekday::monday},     {"tuesday", absl::Weekday::tuesday},
          {"wednesday", absl::Weekday::wednesday}, {"thursday", absl::Weekday::thursday},
          {"friday", absl::Weekday::friday},     {"saturday", absl::Weekday::saturday},
          {"sunday", absl::Weekday::sunday}};
      bool found = false;
      for (const auto& [name, day] : kDays) {
        if (s == name) {
          e.week_start = day;
          found = true;
        }
      }
      if (!found) Error(n["week_start"], "time.week_start must be a day name, e.g. monday");
      week_start_name_ = s;
    }
    if (n["allowed_lateness"]) {
      GetDuration(n["allowed_lateness"], "time.allowed_lateness", &e.allowed_lateness);
    }
  }

  void LoadEvents(const YAML::Node& n) {
    if (!CheckMap(n, "events", {"format", "dedup_horizon", "max_future_skew"})) return;
    if (n["format"]) {
      const YAML::Node& f = n["format"];
      if (f.IsScalar()) {
        auto format = EventFormat::ByName(f.Scalar());
        if (format.ok()) {
          config_.format = *format;
        } else {
          Error(f, absl::StrCat("unknown event format \"", f.Scalar(),
                                "\": segment, amplitude, or a mapping of field paths"));
        }
        format_text_ = f.Scalar();
      } else if (CheckMap(f, "events.format",
                          {"name", "timestamp", "id", "user", "user_fallback"})) {
        EventFormat custom;
        custom.format_name = "custom";
        if (!f["name"] || !f["timestamp"]) {
          Error(f, "a custom events.format needs at least \"name\" and \"timestamp\" paths");
        }
        if (f["name"]) GetStringList(f["name"], "events.format.name", &custom.name_paths);
        if (f["timestamp"]) {
          GetStringList(f["timestamp"], "events.format.timestamp", &custom.time_paths);
        }
        if (f["id"]) GetStringList(f["id"], "events.format.id", &custom.id_paths);
        if (f["user"]) GetString(f["user"], "events.format.user", &custom.user_path);
        if (f["user_fallback"]) {
          GetStringList(f["user_fallback"], "events.format.user_fallback",
                        &custom.user_fallback_paths);
        }
        config_.format = custom;
        format_text_ = YAML::Dump(f);
      }
    }
    if (n["dedup_horizon"]) {
      GetDuration(n["dedup_horizon"], "events.dedup_horizon", &config_.engine.dedup_horizon);
    }
    if (n["max_future_skew"]) {
      GetDuration(n["max_future_skew"], "events.max_future_skew", &config_.max_future_skew);
    }
  }

  // --- filters --------------------------------------------------------

  bool LoadLiteral(const YAML::Node& n, Literal* out) {
    if (!n.IsScalar()) {
      Error(n, "expected a string, number or boolean to compare with");
      return false;
    }
    const std::string& s = n.Scalar();
    double d = 0;
    bool b = false;
    if (n.Tag() != "!" && absl::SimpleAtod(s, &d) && s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
      out->kind = FieldValue::Kind::kNumber;
      out->number = d;
    } else if (n.Tag() != "!" && (s == "true" || s == "false") && YAML::convert<bool>::decode(n, b)) {
      out->kind = FieldValue::Kind::kBool;
      out->boolean = b;
    } else {
      out->kind = FieldValue::Kind::kString;
      out->str = s;
    }
    return true;
  }

  bool LoadPredicate(const YAML::Node& n, Predicate* out) {
    if (!n.IsMap()) {
      Error(n, "expected a predicate: {all: [...]}, {any: [...]}, {not: {...}} or "
               "{field: PATH, <op>: VALUE}");
      return false;
    }
    for (const char* group : {"all", "any"}) {
      if (!n[group]) continue;
      CheckMap(n, "a predicate", {"all", "any"});
      if (n.size() != 1) {
        Error(n, "a predicate has exactly one of all, any, not or field");
        return false;
      }
      out->op = std::string(group) == "all" ? Predicate::Op::kAll : Predicate::Op::kAny;
      if (!n[group].IsSequence()) {
        Error(n[group], absl::StrCat("expected a list of predicates for \"", group, "\""));
        return false;
      }
      bool ok = true;
      for (const YAML::Node& child : n[group]) {
        Predicate p;
        ok &= LoadPredicate(child, &p);
        out->children.push_back(std::move(p));
      }
      return ok;
    }
    if (n["not"]) {
      if (n.size() != 1) {
        Error(n, "a predicate has exactly one of all, any, not or field");
        return false;
      }
      out->op = Predicate::Op::kNot;
      Predicate p;
      const bool ok = LoadPredicate(n["not"], &p);
      out->children.push_back(std::move(p));
      return ok;
    }
    if (!CheckMap(n, "a predicate",
                  {"field", "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists",
                   "matches", "all", "any", "not"})) {
      return false;
    }
    if (!n["field"]) {
      Error(n, "a predicate needs \"field\" (or all / any / not)");
      return false;
    }
    if (!GetFieldPath(n["field"], "a predicate's field", &out->field)) return false;
    static const std::pair<const char*, Predicate::Op> kOps[] = {
        {"eq", Predicate::Op::kEq},         {"ne", Predicate::Op::kNe},
        {"in", Predicate::Op::kIn},         {"not_in", Predicate::Op::kNotIn},
        {"gt", Predicate::Op::kGt},         {"gte", Predicate::Op::kGte},
        {"lt", Predicate::Op::kLt},         {"lte", Predicate::Op::kLte},
        {"exists", Predicate::Op::kExists}, {"matches", Predicate::Op::kMatches}};
    int ops = 0;
    bool ok = true;
    for (const auto& [name, op] : kOps) {
      const YAML::Node v = n[name];
      if (!v) continue;
      ++ops;
      out->op = op;
      switch (op) {
        case Predicate::Op::kIn:
        case Predicate::Op::kNotIn: {
          if (!v.IsSequence()) {
            Error(v, absl::StrCat("expected a list of values for \"", name, "\""));
            ok = false;
            break;
          }
          for (const YAML::Node& item : v) {
            Literal l;
            if (LoadLiteral(item, &l)) out->values.push_back(l);
          }
          break;
        }
        case Predicate::Op::kExists: {
          bool exists = true;
          if (!GetBool(v, "exists", &exists)) {
            ok = false;
          } else if (!exists) {
            // {exists: false} is "not exists".
            Predicate inner = *out;
            inner.op = Predicate::Op::kExists;
            *out = Predicate();
            out->op = Predicate::Op::kNot;
            out->children.push_back(std::move(inner));
          }
          break;
        }
        case Predicate::Op::kMatches: {
          std::string pattern;
          if (!GetString(v, "matches", &pattern)) {
            ok = false;
            break;
          }
          auto re = std::make_shared<RE2>(pattern, RE2::Quiet);
          if (!re->ok()) {
            Error(v, absl::StrCat("bad regular expression \"", pattern, "\": ", re->error()));
            ok = false;
          }
          out->regex = std::move(re);
          break;
        }
        case Predicate::Op::kGt:
        case Predicate::Op::kGte:
        case Predicate::Op::kLt:
        case Predicate::Op::kLte: {
          Literal l;
          double d = 0;
          if (!GetNumber(v, name, &d)) {
            ok = false;
            break;
          }
          l.kind = FieldValue::Kind::kNumber;
          l.number = d;
          out->values.push_back(l);
          break;
        }
        default: {
          Literal l;
          if (LoadLiteral(v, &l)) {
            out->values.push_back(l);
          } else {
            ok = false;
          }
        }
      }
    }
    if (ops != 1) {
      Error(n, "a field predicate has exactly one operator: eq, ne, in, not_in, gt, gte, lt, "
               "lte, exists or matches");
      return false;
    }
    return ok;
  }

  bool LoadFilter(const YAML::Node& n, const std::string& what, Filter* out) {
    if (!CheckMap(n, what, {"event", "where"})) return false;
    bool ok = true;
    if (n["event"]) {
      std::vector<std::string> names;
      ok &= GetStringList(n["event"], absl::StrCat(what, ".event"), &names);
      for (std::string& name : names) out->AddName(std::move(name));
    }
    if (n["where"]) {
      Predicate p;
      if (LoadPredicate(n["where"], &p)) {
        out->SetPredicate(std::move(p));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  // --- measures and windows ---------------------------------------------

  bool LoadHaving(const YAML::Node& n, MeasureSpec* m) {
    std::string text;
    if (!GetString(n, "having", &text)) return false;
    static const RE2 re(
        "\\s*(count(?:\\(\\))?|distinct\\(([^)\\s]+)\\)|sum\\(([^)\\s]+)\\))\\s*"
        "(>=|<=|==|>|<)\\s*(-?[0-9]+(?:\\.[0-9]+)?)\\s*");
    std::string what, distinct_field, sum_field, op, number;
    if (!RE2::FullMatch(text, re, &what, &distinct_field, &sum_field, &op, &number)) {
      Error(n, absl::StrCat("bad \"having\" expression \"", text,
                            "\": expected count, distinct(FIELD) or sum(FIELD), a comparison "
                            "(>, >=, <, <=, ==) and a number, e.g. \"distinct(userId) > 3\""));
      return false;
    }
    if (!distinct_field.empty()) {
      m->aggregate = EntityAggregate::kDistinct;
      if (!ValidFieldPath(distinct_field)) {
        Error(n, absl::StrCat("\"", distinct_field, "\" is not a field path"));
        return false;
      }
      m->aggregate_field = config_.catalog->Intern(distinct_field);
    } else if (!sum_field.empty()) {
      m->aggregate = EntityAggregate::kSum;
      if (!ValidFieldPath(sum_field)) {
        Error(n, absl::StrCat("\"", sum_field, "\" is not a field path"));
        return false;
      }
      m->aggregate_field = config_.catalog->Intern(sum_field);
    } else {
      m->aggregate = EntityAggregate::kCount;
    }
    m->comparison = op == ">"    ? Comparison::kGt
                    : op == ">=" ? Comparison::kGte
                    : op == "<"  ? Comparison::kLt
                    : op == "<=" ? Comparison::kLte
                                 : Comparison::kEq;
    if (!absl::SimpleAtod(number, &m->threshold)) {
      Error(n, absl::StrCat("bad number \"", number, "\" in \"having\""));
      return false;
    }
    return true;
  }

  bool LoadMeasure(const YAML::Node& n, MeasureSpec* m) {
    if (n.IsScalar()) {
      if (n.Scalar() == "events") {
        m->kind = MeasureKind::kEvents;
        return true;
      }
      Error(n, absl::StrCat("unknown measure \"", n.Scalar(),
                            "\": events, {distinct: F}, {sum: F}, {entities: F, having: ...} "
                            "or {ratio: {numerator: M, denominator: M}}"));
      return false;
    }
    if (!CheckMap(n, "measure", {"distinct", "sum", "entities", "having", "ratio"})) return false;
    int kinds = 0;
    bool ok = true;
    if (n["distinct"]) {
      ++kinds;
      m->kind = MeasureKind::kDistinct;
      ok &= GetFieldPath(n["distinct"], "measure.distinct", &m->field);
    }
    if (n["sum"]) {
      ++kinds;
      m->kind = MeasureKind::kSum;
      ok &= GetFieldPath(n["sum"], "measure.sum", &m->field);
    }
    if (n["entities"]) {
      ++kinds;
      m->kind = MeasureKind::kEntities;
      ok &= GetFieldPath(n["entities"], "measure.entities", &m->entity);
      if (n["having"]) ok &= LoadHaving(n["having"], m);
    } else if (n["having"]) {
      Error(n["having"], "\"having\" belongs to an entities measure");
      ok = false;
    }
    if (n["ratio"]) {
      ++kinds;
      m->kind = MeasureKind::kRatio;
      const YAML::Node& r = n["ratio"];
      if (CheckMap(r, "measure.ratio", {"numerator", "denominator"})) {
        if (!r["numerator"] || !r["denominator"]) {
          Error(r, "a ratio needs a numerator and a denominator metric");
          ok = false;
        }
        if (r["numerator"]) ok &= GetString(r["numerator"], "ratio.numerator", &m->numerator);
        if (r["denominator"]) {
          ok &= GetString(r["denominator"], "ratio.denominator", &m->denominator);
        }
      } else {
        ok = false;
      }
    }
    if (kinds != 1) {
      Error(n, "a measure is exactly one of events, distinct, sum, entities or ratio");
      return false;
    }
    return ok;
  }

  bool LoadUnit(const YAML::Node& n, const std::string& what, CalendarUnit* unit) {
    std::string s;
    if (!GetString(n, what, &s)) return false;
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
    Error(n, absl::StrCat(what, " must be hour, day, week or month, not \"", s, "\""));
    return false;
  }

  bool LoadWindow(const YAML::Node& n, WindowSpec* w) {
    if (n.IsScalar()) {
      if (n.Scalar() == "lifetime") {
        w->kind = WindowKind::kLifetime;
        return true;
      }
      Error(n, absl::StrCat("unknown window \"", n.Scalar(),
                            "\": lifetime, {tumbling: UNIT}, {rolling: DURATION} or {cohort: "
                            "{...}}"));
      return false;
    }
    if (!n.IsMap()) {
      Error(n, "expected lifetime or a mapping for window");
      return false;
    }
    bool known = true;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (key == "tumbling" || key == "rolling" || key == "cohort") continue;
      if (key == "lifetime") {
        Error(kv.first, "a lifetime window is written \"window: lifetime\", not as a mapping");
        known = false;
        continue;
      }
      const char* best = Suggest(key, {"tumbling", "rolling", "cohort", "lifetime"});
      Error(kv.first, best != nullptr
                          ? absl::StrCat("unknown window kind \"", key, "\" (did you mean \"",
                                         best, "\"?)")
                          : absl::StrCat("unknown window kind \"", key,
                                         "\": lifetime, {tumbling: UNIT}, {rolling: DURATION} "
                                         "or {cohort: {...}}"));
      known = false;
    }
    if (!known) return false;
    if (n.size() != 1) {
      Error(n, "a window is exactly one of lifetime, tumbling, rolling or cohort");
      return false;
    }
    if (n["tumbling"]) {
      w->kind = WindowKind::kTumbling;
      return LoadUnit(n["tumbling"], "window.tumbling", &w->unit);
    }
    if (n["rolling"]) {
      w->kind = WindowKind::kRolling;
      if (!GetDuration(n["rolling"], "window.rolling", &w->length)) return false;
      if (w->length < absl::Seconds(1)) {
        Error(n["rolling"], "a rolling window lasts at least 1s");
        return false;
      }
      return true;
    }
    w->kind = WindowKind::kCohort;
    const YAML::Node& c = n["cohort"];
    if (!CheckMap(c, "window.cohort", {"anchor", "entity", "length", "period"})) return false;
    bool ok = true;
    for (const char* required : {"anchor", "entity", "length"}) {
      if (!c[required]) {
        Error(c, absl::StrCat("a cohort window needs \"", required, "\"",
                              std::string(required) == "anchor"
                                  ? " (the event that opens an entity's window, e.g. "
                                    "{event: team_created})"
                                  : ""));
        ok = false;
      }
    }
    if (c["anchor"]) ok &= LoadFilter(c["anchor"], "window.cohort.anchor", &w->anchor);
    if (c["anchor"] && c["anchor"].IsMap() && !c["anchor"]["event"] && !c["anchor"]["where"]) {
      Error(c["anchor"], "a cohort anchor needs an \"event\"");
      ok = false;
    }
    if (c["entity"]) ok &= GetFieldPath(c["entity"], "window.cohort.entity", &w->cohort_entity);
    if (c["length"] && GetDuration(c["length"], "window.cohort.length", &w->length) &&
        w->length <= absl::ZeroDuration()) {
      Error(c["length"], "a cohort window's length must be positive");
      ok = false;
    }
    if (c["period"]) ok &= LoadUnit(c["period"], "window.cohort.period", &w->period);
    return ok;
  }

  // --- metrics ----------------------------------------------------------

  struct Parsed {
    MetricDefinition def;
    YAML::Node node;
    bool has_window = false;
    bool name_ok = false;  // def.name holds a valid name
    bool role_ok = true;   // false if "role" was given but not understood
    // What a ratio's operands must share besides the window: the group-by
    // (labels and fields) and, for cohorts, the anchor. Ratios take their
    // numerator's.
    std::string group_text;
    std::string anchor_text;
    enum ResolveState { kUnresolved, kInProgress, kResolved, kFailed };
    ResolveState resolve_state = kUnresolved;  // ResolveRatioWindow's progress
  };

  void LoadMetrics(const YAML::Node& n) {
    if (!n.IsSequence() || n.size() == 0) {
      Error(n, "expected a list of metric definitions for \"metrics\"");
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
        AddAt(ConfigDiagnostic::Severity::kError, e.mark.is_null() ? context_ : e.mark, e.msg);
      }
      context_ = YAML::Mark();
      unknown_role |= !p.role_ok;
      if (p.name_ok && !names.insert(p.def.name).second) {
        Error(m["name"], absl::StrCat("metric \"", p.def.name, "\" is defined twice"));
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
            Error(p.node["measure"]["ratio"][side],
                  absl::StrCat("ratio ", side, " \"", name, "\" is not a metric of this config"));
          }
        }
      }
      if (p.node["inputs"]) {
        size_t i = 0;
        for (const std::string& input : p.def.metadata.inputs) {
          const YAML::Node at = p.node["inputs"].IsSequence() ? p.node["inputs"][i] : p.node["inputs"];
          if (!index.contains(input) && !failed.contains(input)) {
            Error(at, absl::StrCat("input \"", input, "\" is not a metric of this config"));
          } else if (input == p.def.name) {
            Error(at, absl::StrCat("metric \"", input, "\" cannot be its own input"));
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
    std::stable_sort(north_stars.begin(), north_stars.end(), [this](const Parsed* a, const Parsed* b) {
      const YAML::Mark ma = MarkOf(a->node), mb = MarkOf(b->node);
      return std::tie(ma.line, ma.column) < std::tie(mb.line, mb.column);
    });
    // With an unreadable role somewhere, "no north star" may be a follow-on.
    if (north_stars.empty() && !parsed.empty() && !unknown_role) {
      Error(n, "no metric has role north_star: exactly one must (the metric that measures the "
               "value customers get)");
    }
    for (size_t i = 1; i < north_stars.size(); ++i) {
      Error(north_stars[i]->node["role"],
            absl::StrCat("a second north_star (\"", north_stars[i]->def.name,
                         "\"; the first is \"", north_stars[0]->def.name,
                         "\"): exactly one metric is the north star; make this one a focus or "
                         "input"));
    }
    for (Parsed& p : parsed) config_.metrics.push_back(std::move(p.def));
  }

  // Reports every cycle of ratios (each once), at the measure of the
  // cycle's first metric in file order, listing it from there.
  void CheckRatioCycles(const std::vector<Parsed>& parsed,
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
          Error(parsed[start].node["measure"],
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

  // Sets a ratio's window from its numerator (recursively); reports
  // operands whose windows differ. Returns false if unresolvable.
  bool ResolveRatioWindow(Parsed& p, std::vector<Parsed>& parsed,
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

  bool ResolveRatioOperands(Parsed& p, std::vector<Parsed>& parsed,
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
      Error(p.node["measure"],
            absl::StrCat("ratio operands \"", a.name, "\" and \"", b.name,
                         "\" have different windows; a ratio divides window by window"));
      return false;
    }
    const Parsed& pa = parsed[num->second];
    const Parsed& pb = parsed[den->second];
    if (pa.group_text != pb.group_text) {
      Error(p.node["measure"],
            absl::StrCat("ratio operands \"", a.name, "\" and \"", b.name,
                         "\" have different group_by (", pa.group_text, " vs ", pb.group_text,
                         "); a ratio divides each numerator series by the denominator series "
                         "with the same labels, so it would yield no sample"));
      return false;
    }
    if (pa.anchor_text != pb.anchor_text) {
      Error(p.node["measure"],
            absl::StrCat("ratio operands \"", a.name, "\" and \"", b.name,
                         "\" are cohorts with different anchors (", pa.anchor_text, " vs ",
                         pb.anchor_text,
                         "); their cohort periods hold different entities and do not line up, "
                         "so the ratio would yield no sample"));
      return false;
    }
    if (p.has_window && WindowText(p.def.window) != WindowText(a.window)) {
      Error(p.node["window"], "a ratio's window, when given, must be its operands' window");
      return false;
    }
    p.def.window = a.window;
    p.group_text = pa.group_text;
    p.anchor_text = pa.anchor_text;
    return true;
  }

  std::string WindowText(const WindowSpec& w) {
    return absl::StrCat(static_cast<int>(w.kind), "/", static_cast<int>(w.unit), "/",
                        absl::ToInt64Milliseconds(w.length), "/", static_cast<int>(w.period), "/",
                        w.cohort_entity);
  }

  bool LoadMetric(const YAML::Node& n, Parsed* p) {
    context_ = MarkOf(n);
    if (!CheckMap(n, "metric",
                  {"name", "role", "inputs", "description", "customer_value", "decision_question",
                   "cadence", "owner", "unit", "filter", "measure", "window", "group_by",
                   "max_series"})) {
      return false;
    }
    MetricDefinition& d = p->def;
    bool ok = true;
    if (!n["name"]) {
      Error(n, "a metric needs a \"name\"");
      ok = false;
    } else if (!GetString(n["name"], "name", &d.name)) {
      ok = false;
    } else if (!ValidName(d.name)) {
      Error(n["name"], absl::StrCat("metric name \"", d.name,
                                    "\" must be letters, digits and _ (not starting with a digit)"));
      ok = false;
    } else {
      p->name_ok = true;
    }
    if (n["role"]) {
      p->role_ok = false;
      std::string role;
      if (GetString(n["role"], "role", &role)) {
        static const std::pair<const char*, MetricRole> kRoles[] = {
            {"north_star", MetricRole::kNorthStar}, {"input", MetricRole::kInput},
            {"focus", MetricRole::kFocus},          {"guardrail", MetricRole::kGuardrail},
            {"validation", MetricRole::kValidation}};
        bool found = false;
        for (const auto& [name, r] : kRoles) {
          if (role == name) {
            d.metadata.role = r;
            found = true;
            p->role_ok = true;
          }
        }
        if (!found) {
          Error(n["role"], absl::StrCat("unknown role \"", role,
                                        "\": north_star, input, focus, guardrail or validation"));
          ok = false;
        }
      }
    }
    if (n["inputs"]) ok &= GetStringList(n["inputs"], "inputs", &d.metadata.inputs);
    for (const auto& [key, field] :
         {std::pair<const char*, std::string*>{"description", &d.metadata.description},
          {"customer_value", &d.metadata.customer_value},
          {"decision_question", &d.metadata.decision_question},
          {"cadence", &d.metadata.cadence},
          {"owner", &d.metadata.owner},
          {"unit", &d.metadata.unit}}) {
      if (n[key]) ok &= GetString(n[key], key, field);
    }
    if (n["filter"]) ok &= LoadFilter(n["filter"], "filter", &d.filter);
    if (!n["measure"]) {
      Error(n, absl::StrCat("metric \"", d.name, "\" needs a \"measure\""));
      ok = false;
    } else {
      ok &= LoadMeasure(n["measure"], &d.measure);
    }
    p->has_window = static_cast<bool>(n["window"]);
    if (!n["window"]) {
      if (d.measure.kind != MeasureKind::kRatio) {
        Error(n, absl::StrCat("metric \"", d.name, "\" needs a \"window\""));
        ok = false;
      }
    } else {
      ok &= LoadWindow(n["window"], &d.window);
    }
    if (ok && d.measure.kind == MeasureKind::kEntities && d.window.kind == WindowKind::kRolling) {
      Error(n["window"], "an entities measure needs a tumbling, cohort or lifetime window (a "
                         "rolling window of per-entity thresholds is not supported)");
      ok = false;
    }
    if (ok && d.measure.kind == MeasureKind::kRatio && (n["filter"] || n["group_by"])) {
      Error(n["filter"] ? n["filter"] : n["group_by"],
            "a ratio takes its filter and group-by from its operands");
      ok = false;
    }
    if (n["group_by"]) {
      const YAML::Node& g = n["group_by"];
      if (!g.IsMap()) {
        Error(g, "expected a mapping of label: field path for group_by");
        ok = false;
      } else {
        for (const auto& kv : g) {
          GroupBy group;
          group.label = kv.first.Scalar();
          if (!ValidName(group.label) || group.label.rfind("__", 0) == 0 ||
              group.label == "metric" || group.label == "window") {
            Error(kv.first, absl::StrCat("\"", group.label,
                                         "\" cannot be a label name (letters, digits, _; not "
                                         "starting with __; not metric or window)"));
            ok = false;
            continue;
          }
          if (GetFieldPath(kv.second, absl::StrCat("group_by.", group.label), &group.field)) {
            d.group_by.push_back(group);
          } else {
            ok = false;
          }
        }
      }
      if (!n["max_series"]) {
        Warning(g, absl::StrCat("high-cardinality risk: group_by without max_series in metric \"",
                                d.name, "\" (capped at the default of ", kDefaultMaxSeries,
                                " series; the rest fold into __other__)"));
      }
    }
    if (n["max_series"]) {
      int64_t v = 0;
      if (GetInt(n["max_series"], "max_series", 1, &v)) {
        d.max_series = static_cast<int>(v);
      } else {
        ok = false;
      }
    }
    std::vector<std::string> groups;
    for (const GroupBy& g : d.group_by) {
      groups.push_back(absl::StrCat(g.label, ": ", config_.catalog->path(g.field)));
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
    // What the numbers depend on: the definition and the calendar/format.
    YAML::Emitter canonical;
    canonical << YAML::Flow << YAML::BeginSeq;
    for (const char* key : {"filter", "measure", "window", "group_by", "max_series"}) {
      canonical << (n[key] ? n[key] : YAML::Node("-"));
    }
    canonical << zone_name_ << week_start_name_ << format_text_ << YAML::EndSeq;
    d.fingerprint = Fnv1aHex(canonical.c_str());
    return ok;
  }

  std::string file_;
  DaemonConfig config_;
  std::vector<ConfigDiagnostic> diagnostics_;
  std::string zone_name_ = "UTC";
  std::string week_start_name_ = "monday";
  std::string format_text_ = "segment";
  // The position errors without one of their own are reported at: the
  // metric being loaded, else 1:1.
  YAML::Mark context_;
};

}  // namespace

ConfigLoadResult ParseConfig(const std::string& text, const std::string& file) {
  return Loader(file).Load(text);
}

ConfigLoadResult LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    ConfigLoadResult result;
    // Located at 1:1 (the file as a whole): diagnostics never say line 0.
    result.diagnostics.push_back(ConfigDiagnostic{ConfigDiagnostic::Severity::kError, path, 1, 1,
                                                  "cannot read the config file"});
    return result;
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace nsmd
