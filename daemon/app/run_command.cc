// `nsmd run`: the daemon. Wires the stages together and owns the threads:
//   - the pipeline thread (this one): Kafka poll -> decode -> engine ->
//     checkpoint (state + offsets in one RocksDB batch) -> snapshot publish;
//   - civetweb's HTTP threads read published snapshots only;
//   - a signal thread turns SIGTERM/SIGINT into a stop, SIGHUP into a reload.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/app/crash_point.h"
#include "daemon/app/decode_worker.h"
#include "daemon/app/pipeline.h"
#include "daemon/app/status_json.h"
#include "daemon/config/config_loader.h"
#include "daemon/export/http_server.h"
#include "daemon/export/nsm_collectable.h"
#include "daemon/export/pipeline_probe.h"
#include "daemon/export/snapshot_publisher.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/source/event_generator.h"
#include "daemon/source/kafka_producer.h"
#include "daemon/source/kafka_source.h"
#include "daemon/state/state_store.h"

namespace nsmd {
namespace {

constexpr absl::Duration kPollTimeout = absl::Milliseconds(100);
// Messages per poll, and so per batch decoded ahead: small enough that a
// batch and the one before it stay in the cores' caches (~1 MiB).
constexpr int kPollBatch = 1000;
constexpr absl::Duration kPublishInterval = absl::Milliseconds(200);
constexpr absl::Duration kMaxCheckpointBackoff = absl::Seconds(30);
// How long POST /-/reload waits for the pipeline thread to run the reload.
constexpr absl::Duration kReloadRequestTimeout = absl::Seconds(10);
// Exit codes: 0 stopped cleanly, 1 failure (config, Kafka set-up), 2 usage,
// 3 the state dir cannot be used (another config's, corrupt, not a dir).
constexpr int kExitStateUnusable = 3;

// Flags that override the config file.
struct Overrides {
  std::optional<std::string> brokers, state_dir, listen;
};

void ApplyOverrides(const Overrides& o, DaemonConfig* config) {
  if (o.brokers) config->kafka.brokers = *o.brokers;
  if (o.state_dir) config->state.dir = *o.state_dir;
  if (o.listen) config->http.listen = *o.listen;
}

// Loads the config and prints its diagnostics; nullopt on errors. With
// `errors`, the diagnostics are also returned there, one per line.
std::optional<DaemonConfig> LoadAndReport(const std::string& path, const Overrides& overrides,
                                          std::string* errors = nullptr) {
  ConfigLoadResult result = LoadConfigFile(path);
  for (const ConfigDiagnostic& d : result.diagnostics) {
    std::fprintf(stderr, "%s\n", d.ToString().c_str());
    if (errors != nullptr) absl::StrAppend(errors, errors->empty() ? "" : "\n", d.ToString());
  }
  if (!result.config) return std::nullopt;
  ApplyOverrides(overrides, &*result.config);
  return std::move(result.config);
}

// The settings besides the consumer group that a state dir belongs to
// (StateStore::VerifySettings): the calendar windows are cut by and the
// topics whose offsets it holds.
std::vector<std::pair<std::string, std::string>> StateSettings(const DaemonConfig& config) {
  static constexpr const char* kWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                              "friday", "saturday", "sunday"};
  std::vector<std::string> topics = config.kafka.topics;
  std::sort(topics.begin(), topics.end());
  return {{"time.zone", config.engine.time_zone.name()},
          {"time.week_start", kWeekdays[static_cast<int>(config.engine.week_start)]},
          {"kafka.topics", absl::StrJoin(topics, ",")}};
}

// Waits for SIGTERM/SIGINT (stop) and SIGHUP (reload). The signals are
// blocked in every thread (set before any thread starts) and taken here with
// sigtimedwait, so no async-signal-safety concerns arise.
class SignalWatcher {
 public:
  SignalWatcher() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  ~SignalWatcher() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void Start() {
    thread_ = std::thread([this] {
      timespec timeout{0, 200 * 1000 * 1000};
      while (!done_) {
        int sig = sigtimedwait(&set_, nullptr, &timeout);
        if (sig == SIGHUP) reload_requested = true;
        if (sig == SIGTERM || sig == SIGINT) stop_requested = true;
      }
    });
  }
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> reload_requested{false};

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// With the embedded broker, every run starts a new, empty broker: offsets and
// stream times kept from an earlier run would point past its data (Offset out
// of range) and ahead of its events. So the state dir is emptied at start,
// after checking that it is this config's nsmd state (StateStore::Open
// refuses another consumer group's state, or a directory that is not nsmd
// state at all, and then nothing is deleted).
absl::Status WipeEmbeddedBrokerState(const std::string& dir, absl::string_view group_id) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return absl::OkStatus();
  if (auto store = StateStore::Open(dir, group_id); !store.ok()) return store.status();
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot empty the state dir \"", dir, "\": ", ec.message()));
  }
  std::fprintf(stderr,
               "nsmd: embedded broker: deleted the state of the previous run in \"%s\" (it "
               "cannot outlive the in-process broker); starting from empty state\n",
               dir.c_str());
  return absl::OkStatus();
}

class Daemon {
 public:
  Daemon(std::string config_path, Overrides overrides, DaemonConfig config,
         bool reload_endpoint)
      : config_path_(std::move(config_path)),
        overrides_(std::move(overrides)),
        config_(std::move(config)),
        reload_endpoint_(reload_endpoint) {}
  // Stops the HTTP server first: its handlers use the members declared
  // after it (mutexes, status), which go first otherwise, e.g. when Start()
  // fails once the server is up.
  ~Daemon();

  int Run();

 private:
  absl::Status Start();
  void Loop();
  absl::Status Reload();
  // Runs a reload requested by SIGHUP or HTTP and hands the result to
  // waiting HTTP requests (pipeline thread).
  void RunRequestedReload();
  // POST /-/reload: asks the pipeline thread for a reload and waits (up to
  // kReloadRequestTimeout) for its result (HTTP threads).
  absl::Status RequestReloadAndWait();
  // Answers reload requests still waiting, and any later one, with
  // "stopping" (any thread).
  void StopReloads();
  void Publish();
  absl::Status StartDeadLetters();
  // Delivers the dead letters produced so far (before any checkpoint that
  // stores offsets past them).
  absl::Status FlushDeadLetters();
  // After a checkpoint that wrote a batch: commits its offsets to Kafka (for
  // lag tools).
  void CommitCheckpointedOffsets();
  // A synchronous checkpoint (on revoke, reload, stop): waits for a write
  // in flight, then writes and waits.
  absl::Status Checkpoint();
  // Applies the batches the decode worker holds until at most `keep` are
  // left in flight.
  void ApplyDecoded(size_t keep);
  // Submits the batch being filled and applies every batch: afterwards the
  // pipeline has processed every message polled.
  void DrainDecoding();
  // The outcome of an interval checkpoint: resumes or pauses consumption and
  // sets the next one (after `backoff`, doubled on failure).
  void OnIntervalCheckpoint(const absl::Status& s, absl::Time* next_checkpoint,
                            absl::Duration* backoff);
  bool Ready(std::string* reason) const;

  const std::string config_path_;
  const Overrides overrides_;
  DaemonConfig config_;
  const bool reload_endpoint_;
  SignalWatcher signals_;

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<EventGenerator> generator_;
  std::unique_ptr<StateStore> store_;
  PipelineProbe probe_;
  std::shared_ptr<SnapshotPublisher> publisher_ = std::make_shared<SnapshotPublisher>();
  // The definitions the pipeline's engine runs, published with each of its
  // snapshots (pipeline thread).
  std::shared_ptr<const std::vector<MetricDefinition>> definitions_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<KafkaSource> source_;
  // Decodes polled messages on a second core ahead of the pipeline thread.
  // Destroyed before source_: its batches may hold messages lent by it.
  std::unique_ptr<DecodeWorker> decode_worker_;
  std::unique_ptr<KafkaProducer> dead_letters_;  // null without a dead-letter topic
  bool dead_letters_pending_ = false;
  std::unique_ptr<HttpServer> http_;

  int exit_code_ = 1;  // when Start() fails
  std::atomic<bool> state_loaded_{false};
  std::atomic<bool> checkpoint_failing_{false};
  // Reloads requested over HTTP (a ticket each) and the newest ticket a
  // finished reload covered, with its result.
  absl::Mutex reload_mu_;
  uint64_t reload_tickets_ ABSL_GUARDED_BY(reload_mu_) = 0;
  uint64_t reload_done_ ABSL_GUARDED_BY(reload_mu_) = 0;
  absl::Status reload_result_ ABSL_GUARDED_BY(reload_mu_);
  bool reload_stopping_ ABSL_GUARDED_BY(reload_mu_) = false;
  absl::CondVar reload_cv_;  // signalled when reload_done_ or reload_stopping_ change
  // Status fields written by the pipeline thread, read by HTTP threads.
  mutable absl::Mutex status_mu_;
  std::string status_json_ ABSL_GUARDED_BY(status_mu_) = "{}";
};

absl::Status Daemon::Start() {
  if (config_.kafka.brokers == "embedded") {
    auto broker = EmbeddedBroker::Start();
    if (!broker.ok()) return broker.status();
    broker_ = std::move(*broker);
    for (const std::string& topic : config_.kafka.topics) {
      if (absl::Status s = broker_->CreateTopic(topic, config_.kafka.embedded_partitions);
          !s.ok()) {
        return s;
      }
    }
    config_.kafka.brokers = broker_->bootstrap_servers();
    if (absl::Status s = WipeEmbeddedBrokerState(config_.state.dir, config_.kafka.group_id);
        !s.ok()) {
      exit_code_ = kExitStateUnusable;
      return s;
    }
    std::fprintf(stderr,
                 "nsmd: embedded Kafka broker listening on %s (add events by hand: kcat -P -b %s "
                 "-t %s)\n",
                 config_.kafka.brokers.c_str(), config_.kafka.brokers.c_str(),
                 config_.kafka.topics.front().c_str());
  }

  auto store = StateStore::Open(config_.state.dir, config_.kafka.group_id);
  if (!store.ok()) {
    exit_code_ = kExitStateUnusable;
    return store.status();
  }
  store_ = std::move(*store);
  // Window starts depend on the calendar and the offsets on the topics: a
  // state dir written under other values of these is another config's.
  if (absl::Status s = store_->VerifySettings(StateSettings(config_)); !s.ok()) {
    exit_code_ = kExitStateUnusable;
    return s;
  }
  if (store_->created()) {
    std::fprintf(stderr,
                 "nsmd: created a new empty state in \"%s\": every partition starts from "
                 "kafka.start_offset (%s)\n",
                 config_.state.dir.c_str(), config_.kafka.start_offset.c_str());
  }
  auto pipeline = Pipeline::Create(config_, store_.get(), &probe_);
  if (!pipeline.ok()) return pipeline.status();
  pipeline_ = std::move(*pipeline);
  decode_worker_ = std::make_unique<DecodeWorker>(pipeline_->NewDecoder());
  // Join the consumer group before loading the state: librdkafka's threads
  // run the group join (seconds on some brokers) while the state loads, and
  // the assignment is only handled in Poll(), once the state is there
  // (kafka.assignment: all joins nothing and assigns in the first Poll()).
  KafkaSource::Options options;
  options.brokers = config_.kafka.brokers;
  options.group_id = config_.kafka.group_id;
  options.topics = config_.kafka.topics;
  options.properties = config_.kafka.properties;
  options.start_offset = config_.kafka.start_offset;
  options.assignment = config_.kafka.assignment;
  options.on_revoke = [this](const std::vector<TopicPartitionId>& /*partitions*/) {
    // Persist everything up to the last processed message before the
    // partitions go, so whoever gets them resumes exactly there.
    if (absl::Status s = Checkpoint(); !s.ok()) {
      std::fprintf(stderr, "nsmd: checkpoint on revoke failed: %s\n", s.ToString().c_str());
    }
    // The revoked partitions keep holding back window expiry (see
    // on_assign). Marked idle here, an instance left without partitions
    // until the assignment (an eager rebalance) would let expiry jump to its
    // newest event time, and a partition that comes back behind that would
    // have its events counted as late.
  };
  options.on_assign = [this](const std::vector<TopicPartitionId>& partitions) {
    DrainDecoding();  // NextOffset() below counts every message polled
    // Until they are seen to be caught up, the new partitions may hold old
    // events: windows must not expire past them.
    std::vector<std::tuple<std::string, int32_t, bool>> assigned;
    for (const TopicPartitionId& tp : partitions) assigned.emplace_back(tp.topic, tp.partition, false);
    // Partitions of the consumed topics that this assignment leaves out keep
    // holding back expiry at their stream time (a partial assignment, e.g.
    // while a restarted member's old id is still in the group, is followed
    // by one that gives them back, with their backlog); other sources (a
    // bootstrapping replay's) stop holding it.
    pipeline_->UpdateSources(assigned, /*others_idle=*/true, config_.kafka.topics);
    std::vector<SourceOffset> offsets;
    for (const TopicPartitionId& tp : partitions) {
      // Where the in-memory state stands: the checkpoint, plus whatever was
      // processed since (a revoke whose checkpoint failed leaves that in
      // memory, to be committed by a later checkpoint).
      int64_t next = pipeline_->NextOffset(tp.topic, tp.partition);
      if (next >= 0) offsets.push_back(SourceOffset{tp.topic, tp.partition, next});
    }
    return offsets;
  };
  auto source = KafkaSource::Create(std::move(options));
  if (!source.ok()) return source.status();
  source_ = std::move(*source);
  if (absl::Status s = pipeline_->LoadState(); !s.ok()) {
    exit_code_ = kExitStateUnusable;
    return s;
  }
  state_loaded_ = true;
  if (absl::Status s = StartDeadLetters(); !s.ok()) return s;
  definitions_ = std::make_shared<const std::vector<MetricDefinition>>(config_.metrics);
  Publish();

  HttpServer::Handlers handlers;
  handlers.collectables = {probe_.registry(), std::make_shared<NsmCollectable>(publisher_)};
  handlers.ready = [this](std::string* reason) { return Ready(reason); };
  handlers.status_json = [this] {
    absl::MutexLock lock(&status_mu_);
    return status_json_;
  };
  handlers.metrics_json = [this] {
    const PublishedMetrics published = publisher_->published();
    return MetricsJson(*published.definitions, *published.snapshot);
  };
  if (reload_endpoint_) {
    handlers.reload = [this] { return RequestReloadAndWait(); };
  }
  HttpServer::Options http_options;
  http_options.listen = config_.http.listen;
  auto http = HttpServer::Start(http_options, std::move(handlers));
  if (!http.ok()) return http.status();
  http_ = std::move(*http);
  std::fprintf(stderr, "nsmd: serving /metrics on %s\n", config_.http.listen.c_str());
  if (TestFailPoint("start_after_http")) {
    // Waits (bounded) for the test's reload request to be in its handler.
    for (int i = 0; i < 3000 && !signals_.reload_requested; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return absl::InternalError("TEST ONLY: fail point start_after_http");
  }

  if (config_.generator.enabled) {
    EventGenerator::Options g;
    g.brokers = config_.kafka.brokers;
    g.topic = config_.kafka.topics.front();
    g.events_per_second = config_.generator.events_per_second;
    g.teams = config_.generator.teams;
    g.seed = config_.generator.seed;
    g.time_scale = config_.generator.time_scale;
    g.history = config_.generator.history;
    auto generator = EventGenerator::Create(g);
    if (!generator.ok()) return generator.status();
    generator_ = std::move(*generator);
    generator_->Start();
    std::fprintf(stderr, "nsmd: demo generator producing %.0f events/s to %s\n",
                 g.events_per_second, g.topic.c_str());
  }
  return absl::OkStatus();
}

absl::Status Daemon::StartDeadLetters() {
  const std::string& topic = config_.kafka.dead_letter_topic;
  if (topic.empty()) return absl::OkStatus();
  // An oversized message goes to the dead-letter topic cut to its first
  // kDeadLetterTruncateBytes (header nsmd-truncated-from: its size), since
  // the broker would refuse it whole; every other rejected message is at
  // most kafka.max_message_bytes, which the client must let through (with
  // room for the headers).
  constexpr size_t kDeadLetterTruncateBytes = 64 * 1024;
  std::map<std::string, std::string> properties = config_.kafka.properties;
  properties["message.max.bytes"] = absl::StrCat(std::clamp<int64_t>(
      config_.kafka.max_message_bytes + 65536, 1000000, 1000000000));
  auto producer = KafkaProducer::Create(config_.kafka.brokers, properties);
  if (!producer.ok()) return producer.status();
  dead_letters_ = std::move(*producer);
  pipeline_->set_reject_sink([this, topic](absl::string_view source_topic, int32_t partition,
                                           int64_t offset, absl::string_view key,
                                           absl::string_view payload, RejectReason reason,
                                           const absl::Status& error) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"nsmd-reject-reason", std::string(RejectReasonName(reason))},
        {"nsmd-error", std::string(error.message())},
        {"nsmd-source-topic", std::string(source_topic)},
        {"nsmd-source-partition", absl::StrCat(partition)},
        {"nsmd-source-offset", absl::StrCat(offset)}};
    if (reason == RejectReason::kOversized && payload.size() > kDeadLetterTruncateBytes) {
      headers.emplace_back("nsmd-truncated-from", absl::StrCat(payload.size()));
      payload = payload.substr(0, kDeadLetterTruncateBytes);
    }
    // With the original key, so a keyed topic keeps related dead letters
    // together. A message that cannot even be queued is kept by the producer
    // and produced again at the next checkpoint's Flush(), which fails (and
    // holds the offsets back) until it is delivered.
    absl::Status s = dead_letters_->ProduceWithHeaders(topic, key, payload, headers);
    probe_.OnDeadLettered();
    dead_letters_pending_ = true;
    if (!s.ok()) {
      std::fprintf(stderr, "nsmd: cannot produce to dead-letter topic %s yet: %s\n",
                   topic.c_str(), s.ToString().c_str());
    }
  });
  std::fprintf(stderr, "nsmd: rejected messages go to dead-letter topic %s\n", topic.c_str());
  return absl::OkStatus();
}

absl::Status Daemon::FlushDeadLetters() {
  // Dead letters are delivered before the offsets past them are stored, so a
  // crash re-sends rather than drops them (at least once).
  if (!dead_letters_pending_) return absl::OkStatus();
  if (absl::Status s = dead_letters_->Flush(absl::Seconds(5)); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("dead-letter topic not yet written: ", s.message()));
  }
  dead_letters_pending_ = false;
  return absl::OkStatus();
}

void Daemon::CommitCheckpointedOffsets() {
  if (!source_) return;
  source_->CommitOffsets(pipeline_->checkpointed_offsets()).IgnoreError();
  // Test only (see crash_point.h): passed by checkpoints that wrote something.
  CrashPoint("after_kafka_commit");
}

void Daemon::ApplyDecoded(size_t keep) {
  while (decode_worker_->in_flight() > keep) {
    decode_worker_->TakeOldest(
        [this](const DecodedBatch& batch) { pipeline_->ProcessBatch(batch); });
  }
}

void Daemon::DrainDecoding() {
  decode_worker_->Submit();
  ApplyDecoded(0);
}

absl::Status Daemon::Checkpoint() {
  // Everything polled (e.g. before a revoke, in the middle of a poll) is in
  // the checkpoint.
  DrainDecoding();
  if (absl::Status s = FlushDeadLetters(); !s.ok()) return s;
  const uint64_t previous_written = pipeline_->checkpoints_written();
  absl::Status s = pipeline_->Checkpoint();
  // Nothing to write (no batch) commits nothing.
  if (s.ok() && pipeline_->checkpoints_written() != previous_written) CommitCheckpointedOffsets();
  return s;
}

bool Daemon::Ready(std::string* reason) const {
  if (!state_loaded_) {
    *reason = "state not loaded";
    return false;
  }
  if (checkpoint_failing_) {
    *reason = "state store writes failing; consumption paused";
    return false;
  }
  if (!source_ || !source_->Connected()) {
    *reason = "not connected to Kafka";
    return false;
  }
  if (source_->Assignment().empty()) {
    *reason = "no partitions assigned";
    return false;
  }
  return true;
}

void Daemon::Publish() {
  auto snapshot = std::make_shared<const MetricsSnapshot>(pipeline_->engine().Snapshot());
  probe_.SetStreamTime(snapshot->stream_time_ms);
  publisher_->Publish(definitions_, snapshot);
  std::vector<TopicPartitionId> assignment;
  if (source_) {
    const std::vector<std::pair<TopicPartitionId, int64_t>> lag = source_->Lag();
    probe_.SetLag(lag);
    assignment = source_->Assignment();
    // An assigned partition holds back window expiry from the moment it is
    // assigned (its backlog may hold old events), except one that has held
    // no message at all so far. A caught-up partition with history keeps
    // holding it at its own stream time: under live traffic "caught up" is
    // momentary, and its next events may be older than other partitions'.
    // Lag counts polled messages as read, so "empty" also needs the source
    // to have read nothing of it: its messages may wait in a batch in flight.
    const std::vector<TopicPartitionId> unread = source_->Unread();
    std::vector<std::tuple<std::string, int32_t, bool>> activity;
    for (const auto& [tp, behind] : lag) {
      const bool empty = behind == 0 && absl::c_linear_search(unread, tp);
      activity.emplace_back(tp.topic, tp.partition, empty);
    }
    pipeline_->UpdateSources(activity, /*others_idle=*/false);
  }
  std::string json = StatusJson(config_, *pipeline_, assignment, snapshot->stream_time_ms);
  absl::MutexLock lock(&status_mu_);
  status_json_ = std::move(json);
}

Daemon::~Daemon() {
  StopReloads();
  http_.reset();
}

void Daemon::StopReloads() {
  absl::MutexLock lock(&reload_mu_);
  reload_stopping_ = true;
  reload_cv_.SignalAll();
}

absl::Status Daemon::RequestReloadAndWait() {
  absl::MutexLock lock(&reload_mu_);
  if (reload_stopping_) return absl::UnavailableError("nsmd is stopping");
  const uint64_t ticket = ++reload_tickets_;
  signals_.reload_requested = true;
  const absl::Time deadline = absl::Now() + kReloadRequestTimeout;
  while (reload_done_ < ticket && !reload_stopping_) {
    if (reload_cv_.WaitWithDeadline(&reload_mu_, deadline) && reload_done_ < ticket) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the reload did not finish within ", absl::FormatDuration(kReloadRequestTimeout)));
    }
  }
  if (reload_done_ < ticket) return absl::UnavailableError("nsmd is stopping");
  return reload_result_;
}

void Daemon::RunRequestedReload() {
  uint64_t ticket;
  {
    absl::MutexLock lock(&reload_mu_);
    ticket = reload_tickets_;
  }
  absl::Status s = Reload();
  absl::MutexLock lock(&reload_mu_);
  reload_done_ = ticket;
  reload_result_ = std::move(s);
  reload_cv_.SignalAll();
}

absl::Status Daemon::Reload() {
  std::fprintf(stderr, "nsmd: reloading %s\n", config_path_.c_str());
  std::string errors;
  std::optional<DaemonConfig> fresh = LoadAndReport(config_path_, overrides_, &errors);
  if (!fresh) {
    std::fprintf(stderr, "nsmd: reload failed; the previous definitions keep running\n");
    probe_.OnReload(false);
    return absl::InvalidArgumentError(errors);
  }
  DrainDecoding();  // the batches polled so far belong to the old definitions
  if (absl::Status s = pipeline_->Reload(*fresh); !s.ok()) {
    std::fprintf(stderr, "nsmd: reload failed: %s\n", s.ToString().c_str());
    probe_.OnReload(false);
    return s;
  }
  decode_worker_->set_decoder(pipeline_->NewDecoder());
  // Only the definitions change; Kafka, state and HTTP settings need a restart.
  config_.metrics = fresh->metrics;
  config_.catalog = fresh->catalog;
  config_.engine = fresh->engine;
  config_.format = fresh->format;
  // The new definitions go out with the new engine's first snapshot.
  definitions_ = std::make_shared<const std::vector<MetricDefinition>>(config_.metrics);
  Publish();
  probe_.OnReload(true);
  std::fprintf(stderr, "nsmd: reloaded %zu metrics\n", config_.metrics.size());
  return absl::OkStatus();
}

void Daemon::OnIntervalCheckpoint(const absl::Status& s, absl::Time* next_checkpoint,
                                  absl::Duration* backoff) {
  if (s.ok()) {
    if (checkpoint_failing_) {
      std::fprintf(stderr, "nsmd: checkpoints succeed again; resuming consumption\n");
      source_->Pause(false);
    }
    checkpoint_failing_ = false;
    *backoff = config_.state.checkpoint_interval;
    return;
  }
  // Nothing is lost: the changes stay pending and offsets do not advance.
  // Pause consuming and retry with backoff.
  std::fprintf(stderr, "nsmd: checkpoint failed (retrying in %s): %s\n",
               absl::FormatDuration(*backoff).c_str(), s.ToString().c_str());
  checkpoint_failing_ = true;
  source_->Pause(true);
  *next_checkpoint = absl::Now() + *backoff;
  *backoff = std::min(*backoff * 2, kMaxCheckpointBackoff);
}

void Daemon::Loop() {
  absl::Time next_checkpoint = absl::Now() + config_.state.checkpoint_interval;
  absl::Duration backoff = config_.state.checkpoint_interval;
  absl::Time last_publish = absl::InfinitePast();
  while (!signals_.stop_requested) {
    if (signals_.reload_requested.exchange(false)) RunRequestedReload();
    // While checkpoints fail the partitions are paused (memory stays
    // bounded) but polling goes on, so the group membership and rebalance
    // callbacks stay alive; whatever still arrives is processed normally and
    // committed with the next successful checkpoint.
    int consumed = 0;
    auto n = source_->Poll(kPollBatch, kPollTimeout,
                           [this](SourceMessage& m) { decode_worker_->filling()->Add(m); });
    decode_worker_->Submit();
    // While polls come back full (a backlog), the worker decodes this batch
    // while the one before it is applied. A poll with less is caught up:
    // everything is applied now, so no event waits for the next poll.
    ApplyDecoded(n.ok() && *n == kPollBatch ? 1 : 0);
    pipeline_->ReportCounts();
    if (!n.ok()) {
      std::fprintf(stderr, "nsmd: kafka: %s\n", n.status().ToString().c_str());
      absl::SleepFor(kPollTimeout);
    } else {
      consumed = *n;
    }
    // Interval checkpoints are written in the background (the next batch of
    // messages is processed meanwhile); one at a time.
    const absl::Time now = absl::Now();
    if (now >= next_checkpoint && !pipeline_->checkpoint_in_flight()) {
      next_checkpoint = now + backoff;
      if (absl::Status s = FlushDeadLetters(); !s.ok()) {
        OnIntervalCheckpoint(s, &next_checkpoint, &backoff);
      } else {
        pipeline_->StartCheckpoint();
        // Nothing to write: done at once.
        if (!pipeline_->checkpoint_in_flight()) {
          OnIntervalCheckpoint(absl::OkStatus(), &next_checkpoint, &backoff);
        }
      }
    }
    // A result means a batch was in flight, so a success wrote one.
    if (std::optional<absl::Status> s = pipeline_->FinishCheckpoint(/*wait=*/false)) {
      if (s->ok()) CommitCheckpointedOffsets();
      OnIntervalCheckpoint(*s, &next_checkpoint, &backoff);
    }
    probe_.SetReady([this] {
      std::string reason;
      return Ready(&reason);
    }());
    if (consumed == 0 || now - last_publish >= kPublishInterval) {
      Publish();
      last_publish = now;
    }
  }
}

int Daemon::Run() {
  signals_.Start();
  if (absl::Status s = Start(); !s.ok()) {
    std::fprintf(stderr, "nsmd: %s\n", s.ToString().c_str());
    return exit_code_;
  }
  Loop();
  // Reload requests still waiting get an answer now, not at their timeout.
  StopReloads();
  const bool in_group = config_.kafka.assignment == PartitionAssignment::kGroup;
  std::fprintf(stderr, "nsmd: stopping: final checkpoint, then closing the Kafka consumer%s\n",
               in_group ? " (leaving the group)" : "");
  if (generator_) generator_->Stop();
  int code = 0;
  if (absl::Status s = Checkpoint(); !s.ok()) {
    std::fprintf(stderr, "nsmd: final checkpoint failed: %s\n", s.ToString().c_str());
    code = 1;
  }
  source_->Close();
  http_.reset();
  std::fprintf(stderr, "nsmd: stopped\n");
  return code;
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"config", "brokers", "state-dir", "listen"},
                                  {"enable-reload-endpoint"});
  if (!flags.ok()) {
    std::fprintf(stderr, "nsmd run: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  std::optional<std::string> path = flags->Get("config");
  if (!path) {
    std::fprintf(stderr, "nsmd run: --config FILE is required\n");
    return 2;
  }
  InitCrashPointFromEnv();  // test only; no effect unless NSMD_TEST_CRASH_POINT is set
  Overrides overrides{flags->Get("brokers"), flags->Get("state-dir"), flags->Get("listen")};
  std::optional<DaemonConfig> config = LoadAndReport(*path, overrides);
  if (!config) return 1;
  Daemon daemon(*path, overrides, std::move(*config), flags->Has("enable-reload-endpoint"));
  return daemon.Run();
}

}  // namespace nsmd
