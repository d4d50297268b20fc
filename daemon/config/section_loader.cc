#include "daemon/config/section_loader.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/export/bcrypt_hash.h"
#include "re2/re2.h"

namespace nsmd {

SectionLoader::SectionLoader(YamlReader* reader, DaemonConfig* config)
    : reader_(reader), config_(config) {}

void SectionLoader::LoadKafka(const YAML::Node& n) {
  if (!reader_->CheckMap(
          n, "kafka",
          {"brokers", "topics", "group_id", "properties", "start_offset", "assignment",
           "embedded_partitions", "max_message_bytes", "dead_letter_topic", "key_field",
           "instance_id", "rekey", "rekey_partitions"})) {
    return;
  }
  KafkaConfig& k = config_->kafka;
  if (n["brokers"]) reader_->GetString(n["brokers"], "kafka.brokers", &k.brokers);
  if (n["topics"] && reader_->GetStringList(n["topics"], "kafka.topics", &k.topics) &&
      k.topics.empty()) {
    reader_->Error(n["topics"], "kafka.topics needs at least one topic");
  }
  if (n["group_id"]) reader_->GetString(n["group_id"], "kafka.group_id", &k.group_id);
  if (n["properties"]) {
    const YAML::Node& p = n["properties"];
    if (!p.IsMap()) {
      reader_->Error(p, "expected a mapping of librdkafka properties for kafka.properties");
    } else {
      for (const auto& kv : p) {
        std::string value;
        if (reader_->GetString(kv.second, absl::StrCat("kafka.properties.", kv.first.Scalar()),
                               &value)) {
          k.properties[kv.first.Scalar()] = value;
        }
      }
    }
  }
  if (n["start_offset"] &&
      reader_->GetString(n["start_offset"], "kafka.start_offset", &k.start_offset) &&
      k.start_offset != "earliest" && k.start_offset != "latest") {
    reader_->Error(n["start_offset"], "kafka.start_offset must be earliest or latest");
  }
  std::string assignment;
  if (n["assignment"] && reader_->GetString(n["assignment"], "kafka.assignment", &assignment)) {
    if (assignment == "group") {
      k.assignment = PartitionAssignment::kGroup;
    } else if (assignment == "all") {
      k.assignment = PartitionAssignment::kAllPartitions;
    } else {
      reader_->Error(
          n["assignment"],
          "kafka.assignment must be group (the consumer group assigns partitions) or all "
          "(this instance reads every partition of kafka.topics)");
    }
  }
  int64_t v = 0;
  if (n["embedded_partitions"] &&
      reader_->GetInt(n["embedded_partitions"], "kafka.embedded_partitions", 1, &v)) {
    k.embedded_partitions = static_cast<int>(v);
  }
  if (n["max_message_bytes"] &&
      reader_->GetInt(n["max_message_bytes"], "kafka.max_message_bytes", 1, &v)) {
    k.max_message_bytes = v;
  }
  if (n["dead_letter_topic"]) {
    reader_->GetString(n["dead_letter_topic"], "kafka.dead_letter_topic", &k.dead_letter_topic);
  }
  if (n["key_field"]) reader_->GetString(n["key_field"], "kafka.key_field", &k.key_field);
  if (n["instance_id"]) reader_->GetString(n["instance_id"], "kafka.instance_id", &k.instance_id);
  if (const YAML::Node rekey = n["rekey"]) {
    bool on = false;
    if (rekey.IsScalar() && rekey.Scalar() == "auto") {
      k.rekey = RekeyMode::kAuto;
    } else if (rekey.IsScalar() && YAML::convert<bool>::decode(rekey, on)) {
      k.rekey = on ? RekeyMode::kOn : RekeyMode::kOff;
    } else {
      reader_->Error(rekey, "kafka.rekey must be auto, true or false");
    }
  }
  if (n["rekey_partitions"] &&
      reader_->GetInt(n["rekey_partitions"], "kafka.rekey_partitions", 1, &v)) {
    k.rekey_partitions = static_cast<int>(v);
  }
}

void SectionLoader::LoadGenerator(const YAML::Node& n) {
  if (!reader_->CheckMap(
          n, "generator",
          {"enabled", "events_per_second", "teams", "seed", "time_scale", "history"})) {
    return;
  }
  GeneratorConfig& g = config_->generator;
  if (n["enabled"]) reader_->GetBool(n["enabled"], "generator.enabled", &g.enabled);
  if (n["events_per_second"]) {
    reader_->GetNumber(n["events_per_second"], "generator.events_per_second", &g.events_per_second);
  }
  int64_t v = 0;
  if (n["teams"] && reader_->GetInt(n["teams"], "generator.teams", 1, &v))
    g.teams = static_cast<int>(v);
  if (n["seed"] && reader_->GetInt(n["seed"], "generator.seed", 0, &v))
    g.seed = static_cast<uint64_t>(v);
  if (n["time_scale"] &&
      reader_->GetNumber(n["time_scale"], "generator.time_scale", &g.time_scale) &&
      g.time_scale <= 0) {
    reader_->Error(n["time_scale"], "generator.time_scale must be positive");
  }
  if (n["history"] && reader_->GetDuration(n["history"], "generator.history", &g.history) &&
      g.history < absl::ZeroDuration()) {
    reader_->Error(n["history"], "generator.history must not be negative");
  }
}

void SectionLoader::LoadState(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "state", {"dir", "checkpoint_interval", "changelog"})) return;
  if (std::string mode;
      n["changelog"] && reader_->GetString(n["changelog"], "state.changelog", &mode)) {
    if (mode == "auto") {
      config_->state.changelog = ChangelogMode::kAuto;
    } else if (mode == "on") {
      config_->state.changelog = ChangelogMode::kOn;
    } else if (mode == "off") {
      config_->state.changelog = ChangelogMode::kOff;
    } else {
      reader_->Error(n["changelog"], "state.changelog must be auto, on or off");
    }
  }
  if (n["dir"]) reader_->GetString(n["dir"], "state.dir", &config_->state.dir);
  if (n["checkpoint_interval"] &&
      reader_->GetDuration(n["checkpoint_interval"], "state.checkpoint_interval",
                           &config_->state.checkpoint_interval) &&
      config_->state.checkpoint_interval <= absl::ZeroDuration()) {
    reader_->Error(n["checkpoint_interval"], "state.checkpoint_interval must be positive");
  }
}

void SectionLoader::LoadPipeline(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "pipeline", {"threads"})) return;
  int64_t threads = 0;
  if (n["threads"] && reader_->GetInt(n["threads"], "pipeline.threads", 0, &threads)) {
    if (threads > 1024) {
      reader_->Error(n["threads"], "pipeline.threads must be at most 1024 (0: one per core)");
    } else {
      config_->pipeline.threads = static_cast<int>(threads);
    }
  }
}

void SectionLoader::LoadHttp(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "http",
                         {"listen", "request_timeout", "max_connections", "tls", "basic_auth"})) {
    return;
  }
  HttpConfig& h = config_->http;
  if (n["listen"] && reader_->GetString(n["listen"], "http.listen", &h.listen)) {
    static const RE2 re("[^:\\s]+:[0-9]{1,5}");
    if (!RE2::FullMatch(h.listen, re)) {
      reader_->Error(n["listen"], "http.listen must be HOST:PORT, e.g. 0.0.0.0:9464");
    }
  }
  if (n["request_timeout"] &&
      reader_->GetDuration(n["request_timeout"], "http.request_timeout", &h.request_timeout) &&
      h.request_timeout < absl::Seconds(1)) {
    reader_->Error(n["request_timeout"], "http.request_timeout must be at least 1s");
  }
  int64_t max = 0;
  if (n["max_connections"] &&
      reader_->GetInt(n["max_connections"], "http.max_connections", 1, &max)) {
    if (max > 1000000) {
      reader_->Error(n["max_connections"], "http.max_connections must be at most 1000000");
    } else {
      h.max_connections = static_cast<int>(max);
    }
  }
  if (n["tls"]) LoadHttpTls(n["tls"]);
  if (n["basic_auth"]) LoadHttpBasicAuth(n["basic_auth"]);
}

void SectionLoader::LoadHttpTls(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "http.tls",
                         {"cert_file", "key_file", "client_ca_file", "min_version"})) {
    return;
  }
  HttpTlsConfig tls;
  for (const char* key : {"cert_file", "key_file"}) {
    if (!n[key]) reader_->Error(n, absl::StrCat("http.tls needs ", key));
  }
  if (n["cert_file"]) reader_->GetString(n["cert_file"], "http.tls.cert_file", &tls.cert_file);
  if (n["key_file"]) reader_->GetString(n["key_file"], "http.tls.key_file", &tls.key_file);
  if (n["client_ca_file"]) {
    reader_->GetString(n["client_ca_file"], "http.tls.client_ca_file", &tls.client_ca_file);
  }
  if (n["min_version"] &&
      reader_->GetString(n["min_version"], "http.tls.min_version", &tls.min_version) &&
      tls.min_version != "TLS12" && tls.min_version != "TLS13") {
    reader_->Error(
        n["min_version"],
        absl::StrCat("http.tls.min_version must be TLS12 or TLS13, got \"", tls.min_version, "\""));
  }
  config_->http.tls = std::move(tls);
}

void SectionLoader::LoadHttpBasicAuth(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "http.basic_auth", {"users", "exempt_healthz"})) return;
  if (n["exempt_healthz"]) {
    reader_->GetBool(n["exempt_healthz"], "http.basic_auth.exempt_healthz",
                     &config_->http.basic_auth_exempt_healthz);
  }
  const YAML::Node users = n["users"];
  if (!users || !users.IsMap() || users.size() == 0) {
    reader_->Error(users ? users : n, "http.basic_auth.users must map user names to bcrypt hashes");
    return;
  }
  for (const auto& kv : users) {
    std::string user, hash;
    if (!reader_->GetString(kv.first, "a user name of http.basic_auth.users", &user) ||
        !reader_->GetString(kv.second, absl::StrCat("http.basic_auth.users.", user), &hash)) {
      continue;
    }
    if (user.empty() || user.find(':') != std::string::npos) {
      reader_->Error(kv.first, "a basic-auth user name must be non-empty and without ':'");
    } else if (!IsBcryptHash(hash)) {
      reader_->Error(kv.second, absl::StrCat("http.basic_auth.users.", user,
                                             " must be a bcrypt hash ($2y$..., e.g. from "
                                             "htpasswd -nBC 10 ",
                                             user, ")"));
    } else {
      config_->http.basic_auth_users[user] = hash;
    }
  }
}

void SectionLoader::LoadTime(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "time", {"zone", "week_start", "allowed_lateness"})) return;
  EngineOptions& e = config_->engine;
  std::string s;
  if (n["zone"] && reader_->GetString(n["zone"], "time.zone", &s)) {
    if (!absl::LoadTimeZone(s, &e.time_zone)) {
      reader_->Error(n["zone"], absl::StrCat("unknown time zone \"", s,
                                             "\" (an IANA name such as UTC or Europe/Berlin)"));
    }
    written_.zone = s;
  }
  if (n["week_start"] && reader_->GetString(n["week_start"], "time.week_start", &s)) {
    static const std::pair<const char*, absl::Weekday> kDays[] = {
        {"monday", absl::Weekday::monday},       {"tuesday", absl::Weekday::tuesday},
        {"wednesday", absl::Weekday::wednesday}, {"thursday", absl::Weekday::thursday},
        {"friday", absl::Weekday::friday},       {"saturday", absl::Weekday::saturday},
        {"sunday", absl::Weekday::sunday}};
    bool found = false;
    for (const auto& [name, day] : kDays) {
      if (s == name) {
        e.week_start = day;
        found = true;
      }
    }
    if (!found) reader_->Error(n["week_start"], "time.week_start must be a day name, e.g. monday");
    written_.week_start = s;
  }
  if (n["allowed_lateness"]) {
    reader_->GetDuration(n["allowed_lateness"], "time.allowed_lateness", &e.allowed_lateness);
  }
}

void SectionLoader::LoadEvents(const YAML::Node& n) {
  if (!reader_->CheckMap(n, "events", {"format", "dedup_horizon", "max_future_skew"})) return;
  if (n["format"]) {
    const YAML::Node& f = n["format"];
    if (f.IsScalar()) {
      auto format = EventFormat::ByName(f.Scalar());
      if (format.ok()) {
        config_->format = *format;
      } else {
        reader_->Error(f, absl::StrCat("unknown event format \"", f.Scalar(),
                                       "\": segment, amplitude, or a mapping of field paths"));
      }
      written_.format = f.Scalar();
    } else if (reader_->CheckMap(f, "events.format",
                                 {"name", "timestamp", "id", "user", "user_fallback"})) {
      EventFormat custom;
      custom.format_name = "custom";
      if (!f["name"] || !f["timestamp"]) {
        reader_->Error(f, "a custom events.format needs at least \"name\" and \"timestamp\" paths");
      }
      if (f["name"]) reader_->GetStringList(f["name"], "events.format.name", &custom.name_paths);
      if (f["timestamp"]) {
        reader_->GetStringList(f["timestamp"], "events.format.timestamp", &custom.time_paths);
      }
      if (f["id"]) reader_->GetStringList(f["id"], "events.format.id", &custom.id_paths);
      if (f["user"]) reader_->GetString(f["user"], "events.format.user", &custom.user_path);
      if (f["user_fallback"]) {
        reader_->GetStringList(f["user_fallback"], "events.format.user_fallback",
                               &custom.user_fallback_paths);
      }
      config_->format = custom;
      written_.format = YAML::Dump(f);
    }
  }
  if (n["dedup_horizon"]) {
    reader_->GetDuration(n["dedup_horizon"], "events.dedup_horizon",
                         &config_->engine.dedup_horizon);
  }
  if (n["max_future_skew"]) {
    reader_->GetDuration(n["max_future_skew"], "events.max_future_skew", &config_->max_future_skew);
  }
}

}  // namespace nsmd
