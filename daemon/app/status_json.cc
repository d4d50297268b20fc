#include "daemon/app/status_json.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "daemon/decode/reject_reason.h"
#include "daemon/export/json_writer.h"

namespace nsmd {
namespace {

std::string WindowName(const WindowSpec& w) {
  switch (w.kind) {
    case WindowKind::kTumbling: return absl::StrCat("tumbling ", CalendarUnitName(w.unit));
    case WindowKind::kRolling: return absl::StrCat("rolling ", absl::FormatDuration(w.length));
    case WindowKind::kCohort:
      return absl::StrCat("cohort ", absl::FormatDuration(w.length), " per ",
                          CalendarUnitName(w.period));
    case WindowKind::kLifetime: return "lifetime";
  }
  return "";
}

void WriteLabels(const Labels& labels, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [name, value] : labels) {
    w->Key(name);
    w->String(value);
  }
  w->EndObject();
}

void WriteStreamTime(EventTime time, JsonWriter* w) {
  if (time == EventTime()) {
    w->Null();
  } else {
    w->String(IsoUtc(time.ToTime()));
  }
}

}  // namespace

std::string IsoUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string StatusJson(const DaemonConfig& config, const Pipeline& pipeline,
                       const std::vector<TopicPartitionId>& assignment, EventTime stream_time) {
  JsonWriter w;
  w.BeginObject();
  w.Key("version");
  w.String(NSMD_VERSION);
  w.Key("config");
  w.String(config.path);
  w.Key("brokers");
  w.String(config.kafka.brokers);
  w.Key("group_id");
  w.String(config.kafka.group_id);
  w.Key("topics");
  w.BeginArray();
  for (const std::string& t : config.kafka.topics) w.String(t);
  w.EndArray();
  w.Key("state_dir");
  w.String(config.state.dir);
  w.Key("assignment");
  w.BeginArray();
  for (const TopicPartitionId& tp : assignment) {
    w.BeginObject();
    w.Key("topic");
    w.String(tp.topic);
    w.Key("partition");
    w.Int(tp.partition.value());
    w.Key("checkpointed_offset");
    const std::optional<KafkaOffset> next = pipeline.CheckpointedOffset(tp.topic, tp.partition);
    if (next.has_value()) {
      w.Int(next->value());
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("stream_time");
  WriteStreamTime(stream_time, &w);
  w.Key("last_checkpoint");
  if (pipeline.last_checkpoint() == absl::InfinitePast()) {
    w.Null();
  } else {
    w.String(IsoUtc(pipeline.last_checkpoint()));
  }
  const Pipeline::Counts& c = pipeline.counts();
  w.Key("events");
  w.BeginObject();
  w.Key("consumed");
  w.Int(static_cast<int64_t>(c.consumed));
  w.Key("applied");
  w.Int(static_cast<int64_t>(c.applied));
  w.Key("late");
  w.Int(static_cast<int64_t>(c.late));
  w.Key("duplicate");
  w.Int(static_cast<int64_t>(c.duplicate));
  w.Key("rejected");
  w.BeginObject();
  for (RejectReason r : kAllRejectReasons) {
    w.Key(RejectReasonName(r));
    w.Int(static_cast<int64_t>(c.rejected[static_cast<size_t>(r)]));
  }
  w.EndObject();
  w.EndObject();
  w.Key("metrics");
  w.Int(static_cast<int64_t>(pipeline.metrics().size()));
  w.EndObject();
  return w.Take();
}

std::string MetricsJson(const std::vector<MetricDefinition>& metrics,
                        const MetricsSnapshot& snapshot) {
  JsonWriter w;
  w.BeginObject();
  w.Key("stream_time");
  WriteStreamTime(snapshot.stream_time, &w);
  w.Key("metrics");
  w.BeginArray();
  for (const MetricDefinition& m : metrics) {
    const MetricMetadata& md = m.metadata;
    w.BeginObject();
    w.Key("name");
    w.String(m.name);
    w.Key("role");
    w.String(MetricRoleName(md.role));
    w.Key("inputs");
    w.BeginArray();
    for (const std::string& i : md.inputs) w.String(i);
    w.EndArray();
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string*>{"description", &md.description},
          {"customer_value", &md.customer_value},
          {"decision_question", &md.decision_question},
          {"cadence", &md.cadence},
          {"owner", &md.owner},
          {"unit", &md.unit}}) {
      w.Key(key);
      w.String(*value);
    }
    w.Key("window");
    w.String(WindowName(m.window));
    w.Key("series");
    w.BeginArray();
    for (const SeriesSample& s : snapshot.samples) {
      if (s.metric != m.name) continue;
      w.BeginObject();
      w.Key("labels");
      WriteLabels(s.labels, &w);
      w.Key("window");
      w.String(s.window);
      w.Key("window_start");
      w.String(IsoUtc(absl::FromUnixMillis(s.window_start_ms)));
      w.Key("value");
      w.Number(s.value);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string SeriesJson(const std::vector<SeriesSample>& samples) {
  JsonWriter w;
  w.BeginArray();
  for (const SeriesSample& s : samples) {
    w.BeginObject();
    w.Key("metric");
    w.String(s.metric);
    w.Key("labels");
    WriteLabels(s.labels, &w);
    w.Key("window_start");
    w.String(IsoUtc(absl::FromUnixMillis(s.window_start_ms)));
    w.Key("window_end");
    w.String(IsoUtc(absl::FromUnixMillis(s.window_end_ms)));
    w.Key("value");
    w.Number(s.value);
    w.EndObject();
  }
  w.EndArray();
  return w.Take();
}

}  // namespace nsmd
