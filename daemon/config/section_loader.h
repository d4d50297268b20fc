// SectionLoader: the config's sections besides the metrics.
#ifndef NSMD_DAEMON_CONFIG_SECTION_LOADER_H_
#define NSMD_DAEMON_CONFIG_SECTION_LOADER_H_

#include <string>

#include "daemon/config/daemon_config.h"
#include "daemon/config/yaml_reader.h"
#include "yaml-cpp/yaml.h"

namespace nsmd {

// The calendar and event format as the config writes them: every metric's
// numbers depend on them, so its fingerprint includes them.
struct FingerprintContext {
  std::string zone = "UTC";
  std::string week_start = "monday";
  std::string format = "segment";
};

// Reads the kafka, generator, state, pipeline, http, time and events
// sections into a
// DaemonConfig, reporting problems to a YamlReader. Each Load*() takes the
// section's node, checks its keys and sets the fields it finds (the others
// keep their defaults). Not thread-safe; `reader` and `config` must outlive it.
class SectionLoader {
 public:
  SectionLoader(YamlReader* reader, DaemonConfig* config);

  void LoadKafka(const YAML::Node& n);
  void LoadGenerator(const YAML::Node& n);
  void LoadState(const YAML::Node& n);
  // pipeline.threads.
  void LoadPipeline(const YAML::Node& n);
  // http.listen, request_timeout, max_connections, tls, basic_auth.
  void LoadHttp(const YAML::Node& n);
  // time.zone, time.week_start, time.allowed_lateness.
  void LoadTime(const YAML::Node& n);
  // events.format (a name or a mapping of paths), dedup_horizon,
  // max_future_skew.
  void LoadEvents(const YAML::Node& n);

  // What LoadTime and LoadEvents read, as written.
  const FingerprintContext& written() const { return written_; }

 private:
  void LoadHttpTls(const YAML::Node& n);
  void LoadHttpBasicAuth(const YAML::Node& n);

  YamlReader* const reader_;
  DaemonConfig* const config_;
  FingerprintContext written_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_CONFIG_SECTION_LOADER_H_
