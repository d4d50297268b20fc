// ParseConfig: YAML text -> DaemonConfig. This file only wires the loaders:
// YamlReader (typed reads, positions, diagnostics), SectionLoader (kafka,
// generator, state, http, time, events) and MetricLoader (the metrics, with
// FilterLoader, MeasureLoader and WindowLoader for their parts).
#include "daemon/config/config_loader.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/config/alert_loader.h"
#include "daemon/config/metric_loader.h"
#include "daemon/config/section_loader.h"
#include "daemon/config/yaml_reader.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {
namespace {

// Loads a parsed document's sections, then its metrics.
void LoadRoot(const YAML::Node& root, YamlReader* reader, DaemonConfig* config) {
  if (!root.IsDefined() || root.IsNull()) {
    reader->Add(ConfigDiagnostic::Severity::kError, 1, 1,
                "the config is empty: it needs \"metrics\"");
    return;
  }
  if (!reader->CheckMap(root, "the config",
                        {"kafka", "generator", "state", "pipeline", "http", "events", "time",
                         "metrics", "alerting"})) {
    return;
  }
  SectionLoader sections(reader, config);
  if (root["kafka"]) sections.LoadKafka(root["kafka"]);
  if (root["generator"]) sections.LoadGenerator(root["generator"]);
  if (root["state"]) sections.LoadState(root["state"]);
  if (root["pipeline"]) sections.LoadPipeline(root["pipeline"]);
  if (root["http"]) sections.LoadHttp(root["http"]);
  if (root["alerting"]) {
    AlertLoader(reader).LoadAlerting(root["alerting"], &config->alerting);
  }
  // Time and events first: fingerprints of metrics include them.
  if (root["time"]) sections.LoadTime(root["time"]);
  if (root["events"]) sections.LoadEvents(root["events"]);
  if (!root["metrics"]) {
    reader->Add(ConfigDiagnostic::Severity::kError, 1, 1,
                "no \"metrics\": a config defines at least the north star metric");
    return;
  }
  MetricLoader(reader, config, sections.written()).Load(root["metrics"]);
}

}  // namespace

std::string ConfigDiagnostic::ToString() const {
  return absl::StrCat(file, ":", line, ":", column, ": ",
                      severity == Severity::kWarning ? "warning: " : "", message);
}

ConfigLoadResult ParseConfig(const std::string& text, const std::string& file) {
  YamlReader reader(file);
  DaemonConfig config;
  config.path = file;
  YAML::Node root;
  bool parsed = false;
  try {
    root = YAML::Load(text);
    parsed = true;
  } catch (const YAML::ParserException& e) {
    reader.Add(ConfigDiagnostic::Severity::kError, e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const YAML::Exception& e) {
    reader.Add(ConfigDiagnostic::Severity::kError, 1, 1, e.what());
  }
  if (parsed) {
    try {
      reader.CheckDuplicateKeys(root);
      LoadRoot(root, &reader, &config);
    } catch (const YAML::Exception& e) {
      reader.AddAt(ConfigDiagnostic::Severity::kError, e.mark.is_null() ? reader.context() : e.mark,
                   e.msg);
    }
  }
  ConfigLoadResult result;
  result.diagnostics = reader.TakeDiagnostics();
  bool errors = false;
  for (const ConfigDiagnostic& d : result.diagnostics) {
    errors |= d.severity == ConfigDiagnostic::Severity::kError;
  }
  if (!errors) result.config = std::move(config);
  return result;
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
