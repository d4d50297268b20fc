#include "daemon/config/yaml_reader.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/config/duration_text.h"
#include "re2/re2.h"

namespace nsmd {
namespace {

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
}  // namespace

YamlReader::YamlReader(std::string file) : file_(std::move(file)) {}

// Lines and columns are 1-based; a position that is not known is reported
// at 1:1 rather than 0:0.
void YamlReader::Add(ConfigDiagnostic::Severity severity, int line, int column,
                     std::string message) {
  diagnostics_.push_back(ConfigDiagnostic{severity, file_, std::max(line, 1), std::max(column, 1),
                                          std::move(message)});
}
void YamlReader::AddAt(ConfigDiagnostic::Severity severity, const YAML::Mark& m,
                       std::string message) {
  Add(severity, m.line + 1, m.column + 1, std::move(message));
}
// Where `at` is; for a node without a position (absent, or built rather
// than parsed), the innermost enclosing definition's position.
YAML::Mark YamlReader::MarkOf(const YAML::Node& at) const {
  if (!at.IsDefined()) return context_;
  const YAML::Mark m = at.Mark();
  return m.is_null() ? context_ : m;
}
void YamlReader::Error(const YAML::Node& at, std::string message) {
  AddAt(ConfigDiagnostic::Severity::kError, MarkOf(at), std::move(message));
}
void YamlReader::Warning(const YAML::Node& at, std::string message) {
  AddAt(ConfigDiagnostic::Severity::kWarning, MarkOf(at), std::move(message));
}

// Reports every key that appears twice in one mapping, at the second
// occurrence (YAML would silently keep only one of them).
void YamlReader::CheckDuplicateKeysBelow(const YAML::Node& n, int depth) {
  if (depth > 64) return;  // deeper than any config; the loader rejects it elsewhere
  if (n.IsMap()) {
    absl::flat_hash_map<std::string, YAML::Mark> seen;
    for (const auto& kv : n) {
      if (kv.first.IsScalar()) {
        const YAML::Mark m = MarkOf(kv.first);
        auto [it, inserted] = seen.try_emplace(kv.first.Scalar(), m);
        if (!inserted) {
          Error(kv.first,
                absl::StrCat("duplicate key \"", kv.first.Scalar(), "\" (first at line ",
                             it->second.line + 1, ", column ", it->second.column + 1, ")"));
        }
      }
      CheckDuplicateKeysBelow(kv.second, depth + 1);
    }
  } else if (n.IsSequence()) {
    for (const YAML::Node& item : n) CheckDuplicateKeysBelow(item, depth + 1);
  }
}

// Reports keys of `map` not in `allowed` (with a suggestion). False if
// `map` is not a mapping at all.
bool YamlReader::CheckMap(const YAML::Node& map, const std::string& what, KeyList allowed) {
  if (!map.IsMap()) {
    Error(map, absl::StrCat("expected a mapping for ", what));
    return false;
  }
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }) !=
        allowed.end()) {
      continue;
    }
    std::string message = absl::StrCat("unknown key \"", key, "\" in ", what);
    const char* best = SuggestKey(key, allowed);
    if (best != nullptr) absl::StrAppend(&message, "; did you mean \"", best, "\"?");
    Error(kv.first, message);
  }
  return true;
}

bool YamlReader::GetString(const YAML::Node& node, const std::string& what, std::string* out) {
  if (!node.IsScalar()) {
    Error(node, absl::StrCat("expected a string for ", what));
    return false;
  }
  *out = node.Scalar();
  return true;
}
bool YamlReader::GetBool(const YAML::Node& node, const std::string& what, bool* out) {
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, *out)) {
    Error(node, absl::StrCat("expected true or false for ", what));
    return false;
  }
  return true;
}
bool YamlReader::GetInt(const YAML::Node& node, const std::string& what, int64_t min,
                        int64_t* out) {
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
bool YamlReader::GetNumber(const YAML::Node& node, const std::string& what, double* out) {
  if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), out)) {
    Error(node, absl::StrCat("expected a number for ", what));
    return false;
  }
  return true;
}
bool YamlReader::GetDuration(const YAML::Node& node, const std::string& what, absl::Duration* out) {
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
bool YamlReader::GetStringList(const YAML::Node& node, const std::string& what,
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
bool YamlReader::GetFieldPath(const YAML::Node& node, const std::string& what,
                              FieldCatalog* catalog, FieldId* out) {
  std::string path;
  if (!GetString(node, what, &path)) return false;
  if (!IsFieldPath(path)) {
    Error(node, absl::StrCat("\"", path,
                             "\" is not a field path (dotted keys, e.g. "
                             "properties.plan) for ",
                             what));
    return false;
  }
  *out = catalog->Intern(path);
  return true;
}

void YamlReader::CheckDuplicateKeys(const YAML::Node& n) { CheckDuplicateKeysBelow(n, 0); }

std::vector<ConfigDiagnostic> YamlReader::TakeDiagnostics() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const ConfigDiagnostic& a, const ConfigDiagnostic& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return std::move(diagnostics_);
}

bool IsConfigName(absl::string_view name) {
  static const RE2 re("[a-zA-Z_][a-zA-Z0-9_]*");
  return RE2::FullMatch(re2::StringPiece(name.data(), name.size()), re);
}

bool IsFieldPath(absl::string_view path) {
  static const RE2 re("[^.\\s]+(\\.[^.\\s]+)*");
  return RE2::FullMatch(re2::StringPiece(path.data(), path.size()), re);
}

// The closest of `allowed` to `key` (edit distance below 3), or null.
const char* SuggestKey(const std::string& key, KeyList allowed) {
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

}  // namespace nsmd
