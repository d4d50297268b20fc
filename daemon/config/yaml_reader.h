// YamlReader: typed reads of YAML nodes that report problems at file:line:col.
#ifndef NSMD_DAEMON_CONFIG_YAML_READER_H_
#define NSMD_DAEMON_CONFIG_YAML_READER_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/config/config_loader.h"
#include "daemon/decode/field_catalog.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// The keys a mapping may hold.
using KeyList = std::initializer_list<const char*>;

// Collects the diagnostics of one config file while the loaders read it.
// Every Get*() reports a problem at the node it read (or, for a node without
// a position, at the context: the metric being loaded) and returns false,
// leaving *out unspecified; none throws. Not thread-safe.
class YamlReader {
 public:
  // `file` is the name diagnostics carry.
  explicit YamlReader(std::string file);

  // Records a diagnostic at 1-based `line` and `column` (0 becomes 1).
  void Add(ConfigDiagnostic::Severity severity, int line, int column, std::string message);
  // Records a diagnostic at yaml-cpp's 0-based mark `m`.
  void AddAt(ConfigDiagnostic::Severity severity, const YAML::Mark& m, std::string message);
  // Records an error or a warning at `at` (see MarkOf).
  void Error(const YAML::Node& at, std::string message);
  void Warning(const YAML::Node& at, std::string message);

  // Where `at` is; for a node without a position (absent, or built rather
  // than parsed), the context.
  YAML::Mark MarkOf(const YAML::Node& at) const;
  // The position of problems without one of their own; null: 1:1.
  void set_context(const YAML::Mark& context) { context_ = context; }
  const YAML::Mark& context() const { return context_; }

  // Reports every key that appears twice in one mapping of `n`, at the
  // second occurrence (YAML would silently keep only one of them).
  void CheckDuplicateKeys(const YAML::Node& n);
  // Reports keys of `map` not in `allowed`, with a did-you-mean for a close
  // one. False if `map` is not a mapping at all.
  bool CheckMap(const YAML::Node& map, const std::string& what, KeyList allowed);

  // Typed reads; `what` names the value in messages ("kafka.group_id").
  bool GetString(const YAML::Node& node, const std::string& what, std::string* out);
  bool GetBool(const YAML::Node& node, const std::string& what, bool* out);
  // An integer of at least `min`.
  bool GetInt(const YAML::Node& node, const std::string& what, int64_t min, int64_t* out);
  bool GetNumber(const YAML::Node& node, const std::string& what, double* out);
  // A duration in ParseDurationText's syntax ("7d", "72h", "30s").
  bool GetDuration(const YAML::Node& node, const std::string& what, absl::Duration* out);
  // A string or a list of strings.
  bool GetStringList(const YAML::Node& node, const std::string& what,
                     std::vector<std::string>* out);
  // A dotted field path ("properties.plan"), interned in `catalog`.
  bool GetFieldPath(const YAML::Node& node, const std::string& what, FieldCatalog* catalog,
                    FieldId* out);

  // The diagnostics so far, sorted by position (stable).
  std::vector<ConfigDiagnostic> TakeDiagnostics();

 private:
  void CheckDuplicateKeysBelow(const YAML::Node& n, int depth);

  std::string file_;
  std::vector<ConfigDiagnostic> diagnostics_;
  YAML::Mark context_;
};

// The closest of `allowed` to `key` (edit distance below 3), or null: a
// "did you mean" for an unknown key.
const char* SuggestKey(const std::string& key, KeyList allowed);

// Letters, digits and _, not starting with a digit: a metric or label name.
bool IsConfigName(absl::string_view name);
// Dot-separated non-empty segments without whitespace: a field path.
bool IsFieldPath(absl::string_view path);

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_YAML_READER_H_
