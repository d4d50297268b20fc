// `nsmd replay`: runs a file of events through the daemon's own decode ->
// engine -> state path (no Kafka) and prints the results. Each line of the
// input is one message; its line number plays the role of the offset, and
// stream time advances with the events' own timestamps.
#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/pipeline.h"
#include "daemon/app/status_json.h"
#include "daemon/config/config_loader.h"
#include "daemon/decode/decoded_batch.h"
#include "daemon/export/nsm_collectable.h"
#include "daemon/export/snapshot_publisher.h"
#include "daemon/state/state_store.h"
#include "prometheus/text_serializer.h"

namespace nsmd {
namespace {

constexpr char kReplayTopic[] = "replay";

// A private temporary state dir, removed with its contents on destruction.
class TempStateDir {
 public:
  static absl::StatusOr<TempStateDir> Create() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "nsmd-replay-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create a temporary state dir in ",
                                                 std::filesystem::temp_directory_path().string()));
    }
    return TempStateDir(pattern);
  }
  TempStateDir(TempStateDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  ~TempStateDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempStateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Prints the counts of what happened to the input's lines on stderr.
void ReportCounts(const Pipeline::Counts& c, absl::Duration elapsed) {
  std::fprintf(stderr, "accepted %llu\n", static_cast<unsigned long long>(c.applied));
  std::fprintf(stderr, "rejected %llu\n", static_cast<unsigned long long>(c.rejected_total()));
  for (RejectReason r : kAllRejectReasons) {
    const uint64_t n = c.rejected[static_cast<size_t>(r)];
    if (n > 0) {
      std::fprintf(stderr, "rejected %s %llu\n", std::string(RejectReasonName(r)).c_str(),
                   static_cast<unsigned long long>(n));
    }
  }
  std::fprintf(stderr, "late %llu\n", static_cast<unsigned long long>(c.late));
  std::fprintf(stderr, "duplicate %llu\n", static_cast<unsigned long long>(c.duplicate));
  const double seconds = absl::ToDoubleSeconds(elapsed);
  std::fprintf(stderr, "replayed %llu events in %.3f s (%.0f events/s)\n",
               static_cast<unsigned long long>(c.consumed), seconds,
               seconds > 0 ? static_cast<double>(c.consumed) / seconds : 0.0);
}

// The input is read in blocks of this size (grown for a longer line), and
// its lines go to the pipeline in batches of at most kBatchLines.
constexpr size_t kReadBlock = 1 << 20;
constexpr size_t kBatchLines = 1000;

// Feeds every non-empty line of `in` to the pipeline, checkpointing at the
// configured interval like the daemon does. Lines are decoded and applied a
// batch at a time (DecodedBatch, Pipeline::ProcessBatch: the path of `nsmd
// run`, decoding inline), borrowing their bytes from the read buffer.
absl::Status ReplayLines(std::istream& in, absl::Duration checkpoint_interval,
                         Pipeline* pipeline) {
  const std::unique_ptr<EventDecoder> decoder = pipeline->NewDecoder();
  DecodedBatch batch;
  auto apply = [&] {
    batch.Decode(decoder.get());
    pipeline->ProcessBatch(batch);
    batch.Clear();
  };
  std::string buffer(kReadBlock, '\0');
  size_t begin = 0, end = 0;  // bytes not handed over yet: buffer[begin, end)
  int64_t line_number = 0;
  absl::Time next_checkpoint = absl::Now() + checkpoint_interval;
  bool at_end = false;
  while (!at_end) {
    // The batch is empty here (it borrowed from the buffer): keep the
    // partial last line and read more after it.
    std::memmove(buffer.data(), buffer.data() + begin, end - begin);
    end -= begin;
    begin = 0;
    if (end == buffer.size()) buffer.resize(2 * buffer.size());  // a line longer than it
    in.read(buffer.data() + end, static_cast<std::streamsize>(buffer.size() - end));
    if (in.bad()) return absl::DataLossError("error reading the input");
    end += static_cast<size_t>(in.gcount());
    at_end = in.eof();
    // Every complete line, and at the end the last one without a newline.
    while (begin < end) {
      const char* start = buffer.data() + begin;
      const char* newline = static_cast<const char*>(std::memchr(start, '\n', end - begin));
      if (newline == nullptr && !at_end) break;
      const absl::string_view line(start, newline != nullptr ? newline - start : end - begin);
      begin += line.size() + (newline != nullptr ? 1 : 0);
      ++line_number;
      if (line.empty()) continue;
      SourceMessage message;
      message.topic = kReplayTopic;
      message.offset = line_number;
      message.payload = line;
      // Lent, not copied: the buffer keeps the bytes until the batch is applied.
      message.lease = MessageLease(buffer.data(), [](void*) {});
      batch.Add(message);
      if (batch.size() == kBatchLines) apply();
    }
    if (!batch.empty()) apply();
    if (absl::Now() >= next_checkpoint) {
      if (absl::Status s = pipeline->Checkpoint(); !s.ok()) return s;
      next_checkpoint = absl::Now() + checkpoint_interval;
    }
  }
  return pipeline->Checkpoint();
}

}  // namespace

int ReplayCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config", "input", "series", "state-dir"});
  if (!flags.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  const std::optional<std::string> config_path = flags->Get("config");
  const std::optional<std::string> input = flags->Get("input");
  const std::string series = flags->Get("series").value_or("");
  if (!config_path || !input || (!series.empty() && series != "json")) {
    std::fprintf(stderr,
                 "usage: nsmd replay --config FILE --input FILE.ndjson|- [--series json] "
                 "[--state-dir DIR]\n");
    return 2;
  }

  ConfigLoadResult loaded = LoadConfigFile(*config_path);
  for (const ConfigDiagnostic& d : loaded.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
  }
  if (!loaded.config) return 1;
  DaemonConfig& config = *loaded.config;

  // By default the state lives in a temporary dir, removed at the end. With
  // --state-dir it is kept there, under the config's consumer group, so that
  // `nsmd run` with the same config can start from it (e.g. to bootstrap
  // state from an archive of events).
  std::optional<TempStateDir> temp;
  std::string state_dir;
  std::string identity = config.kafka.group_id;
  if (std::optional<std::string> keep = flags->Get("state-dir")) {
    state_dir = *keep;
  } else {
    auto dir = TempStateDir::Create();
    if (!dir.ok()) {
      std::fprintf(stderr, "nsmd replay: %s\n", dir.status().ToString().c_str());
      return 1;
    }
    temp.emplace(std::move(*dir));
    state_dir = temp->path();
  }
  auto store = StateStore::Open(state_dir, identity);
  if (!store.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto pipeline = Pipeline::Create(config, store->get(), nullptr);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", pipeline.status().ToString().c_str());
    return 1;
  }
  if (!series.empty()) (*pipeline)->mutable_engine().set_retain_all_windows(true);

  std::ifstream file;
  std::istream* in = &std::cin;
  if (*input != "-") {
    file.open(*input);
    if (!file) {
      std::fprintf(stderr, "nsmd replay: cannot open %s\n", input->c_str());
      return 1;
    }
    in = &file;
  }
  std::ios::sync_with_stdio(false);
  const absl::Time start = absl::Now();
  if (absl::Status s = ReplayLines(*in, config.state.checkpoint_interval, pipeline->get());
      !s.ok()) {
    std::fprintf(stderr, "nsmd replay: %s\n", s.ToString().c_str());
    return 1;
  }
  const absl::Duration elapsed = absl::Now() - start;

  const Engine& engine = (*pipeline)->engine();
  if (series == "json") {
    std::string json = SeriesJson(engine.AllWindows());
    std::fwrite(json.data(), 1, json.size(), stdout);
    std::fputc('\n', stdout);
  } else {
    auto publisher = std::make_shared<SnapshotPublisher>();
    publisher->Publish(std::make_shared<const std::vector<MetricDefinition>>(engine.metrics()),
                       std::make_shared<const MetricsSnapshot>(engine.Snapshot()));
    NsmCollectable collectable(publisher);
    const std::string text = prometheus::TextSerializer().Serialize(collectable.Collect());
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  std::fflush(stdout);
  ReportCounts((*pipeline)->counts(), elapsed);
  return 0;
}

}  // namespace nsmd
