#include "daemon/app/daemon.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "daemon/app/crash_point.h"
#include "daemon/base/status_macros.h"
#include "daemon/config/task_layout.h"
#include "xxhash.h"

namespace nsmd {
namespace {

constexpr absl::Duration kPollTimeout = absl::Milliseconds(100);
// Messages per poll, and so per batch decoded ahead: small enough that a
// batch and the one before it stay in the cores' caches (~1 MiB).
constexpr int kPollBatch = 1000;
constexpr absl::Duration kPublishInterval = absl::Milliseconds(200);
// While a backlog is read, how often the loop pauses the applying threads to
// tend the pipeline (checkpoints, publish): each pause waits for the batches
// in progress (up to ApplyPool::kBatchMessages messages per thread).
constexpr absl::Duration kTendInterval = absl::Milliseconds(50);
constexpr absl::Duration kMaxCheckpointBackoff = absl::Seconds(30);
// How long POST /-/reload waits for the pipeline thread to run the reload.
constexpr absl::Duration kReloadRequestTimeout = absl::Seconds(10);

// The HTTP server's options from http.*. Raises the soft open-file limit to
// the hard one (each connection is a descriptor; the soft limit is often
// 1024) and says so, and warns if http.max_connections does not fit.
HttpServer::Options HttpOptions(const HttpConfig& http) {
  HttpServer::Options o;
  o.listen = http.listen;
  o.request_timeout = http.request_timeout;
  o.max_connections = http.max_connections;
  if (http.tls) {
    o.tls = HttpServer::TlsOptions{http.tls->cert_file, http.tls->key_file,
                                   http.tls->client_ca_file, http.tls->min_version};
  }
  o.basic_auth = http.basic_auth_users;
  o.basic_auth_exempt_healthz = http.basic_auth_exempt_healthz;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    if (limit.rlim_cur < limit.rlim_max) {
      const rlim_t before = limit.rlim_cur;
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
        std::fprintf(stderr, "nsmd: raised the open-file limit from %llu to %llu\n",
                     static_cast<unsigned long long>(before),
                     static_cast<unsigned long long>(limit.rlim_max));
      } else {
        limit.rlim_cur = before;
      }
    }
    // Kafka, RocksDB and the process itself need descriptors too.
    constexpr rlim_t kReserved = 512;
    if (static_cast<rlim_t>(http.max_connections) + kReserved > limit.rlim_cur) {
      std::fprintf(stderr,
                   "nsmd: warning: http.max_connections %d and %llu other descriptors exceed the "
                   "open-file limit %llu (raise it, e.g. LimitNOFILE= in the systemd unit)\n",
                   http.max_connections, static_cast<unsigned long long>(kReserved),
                   static_cast<unsigned long long>(limit.rlim_cur));
    }
  }
  return o;
}

// The cores this process may run on (`taskset` limits them).
int UsableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// The settings besides the consumer group that a state dir belongs to
// (StateStore::VerifySettings): the calendar windows are cut by, the
// topics whose offsets it holds and how the state is split into tasks.
std::vector<std::pair<std::string, std::string>> StateSettings(const DaemonConfig& config) {
  static constexpr const char* kWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                              "friday", "saturday", "sunday"};
  std::vector<std::string> topics = config.kafka.topics;
  std::sort(topics.begin(), topics.end());
  return {{"time.zone", config.engine.time_zone.name()},
          {"time.week_start", kWeekdays[static_cast<int>(config.engine.week_start)]},
          {"kafka.topics", absl::StrJoin(topics, ",")},
          {"tasks", TaskLayoutName(TaskLayoutOf(config))}};
}

// kafka.instance_id as group.instance.id: as given, none for "none", else
// "<host name>-<16 hex digits of the absolute state dir's hash>": the same
// across restarts (so a restart moves no partition), distinct for every
// state dir (two instances never share one: RocksDB locks it).
std::string StaticInstanceId(const DaemonConfig& config) {
  const std::string& id = config.kafka.instance_id;
  if (id == "none") return "";
  if (!id.empty()) return id;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "nsmd");
  std::error_code ec;
  const std::string dir = std::filesystem::absolute(config.state.dir, ec).lexically_normal();
  return absl::StrFormat("%s-%016x", host, XXH64(dir.data(), dir.size(), 0));
}

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

}  // namespace

Daemon::Daemon(std::string config_path, RunOverrides overrides, DaemonConfig config,
               bool reload_endpoint)
    : config_path_(std::move(config_path)),
      overrides_(std::move(overrides)),
      config_(std::move(config)),
      reload_endpoint_(reload_endpoint),
      reloads_(kReloadRequestTimeout) {}

Daemon::~Daemon() {
  reloads_.Stop();
  http_.reset();
}

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
  if (TaskLayoutOf(config_) == TaskLayout::kRekeyed) {
    if (absl::Status s = EnableRekey(); !s.ok()) return s;
  }
  if (absl::Status s = StartChangelog(); !s.ok()) return s;
  const int threads = config_.pipeline.threads > 0 ? config_.pipeline.threads : UsableCores();
  apply_pool_ = std::make_unique<ApplyPool>(pipeline_.get(), threads);
  std::fprintf(
      stderr, "nsmd: decoding and applying events on %d thread%s (pipeline.threads %s)%s\n",
      apply_pool_->threads(), apply_pool_->threads() == 1 ? "" : "s",
      config_.pipeline.threads > 0 ? "as configured" : "0: one per usable core",
      apply_pool_->threads() < threads
          ? (apply_pool_->decodes_ahead()
                 ? ": the whole-input task cannot be split; its events are decoded ahead on another"
                 : ": one, the whole-input task cannot be split")
          : "");
  // Join the consumer group before loading the state: librdkafka's threads
  // run the group join (seconds on some brokers) while the state loads, and
  // the assignment is only handled in Poll(), once the state is there
  // (kafka.assignment: all joins nothing and assigns in the first Poll()).
  KafkaSource::Options options;
  options.brokers = config_.kafka.brokers;
  options.group_id = config_.kafka.group_id;
  options.topics = config_.kafka.topics;
  options.topics.insert(options.topics.end(), rekey_topics_.begin(), rekey_topics_.end());
  options.properties = config_.kafka.properties;
  options.start_offset = config_.kafka.start_offset;
  options.assignment = config_.kafka.assignment;
  options.instance_id = StaticInstanceId(config_);
  options.on_revoke = [this](const std::vector<TopicPartitionId>& partitions) {
    // Persist everything up to the last processed message before the
    // partitions go, so whoever gets them resumes exactly there.
    if (absl::Status s = Checkpoint(); !s.ok()) {
      std::fprintf(stderr, "nsmd: checkpoint on revoke failed: %s\n", s.ToString().c_str());
    }
    // Their tasks' numbers leave this instance's export now: the new owner
    // shows them. (The whole-input task stays, and the revoked partitions
    // keep holding back its window expiry, see on_assign: marked idle here,
    // an instance left without partitions until the assignment would let
    // expiry jump to its newest event time, and a partition that comes back
    // behind that would have its events counted as late.)
    pipeline_->RevokeTasks(partitions);
  };
  options.on_assign = [this](const std::vector<TopicPartitionId>& partitions) {
    DrainDecoding();  // the resume offsets count every message polled
    // Until they are seen to be caught up, the new partitions may hold old
    // events: the whole-input task's windows must not expire past them.
    // Partitions of the consumed topics that this assignment leaves out keep
    // holding back expiry at their stream time (a partial assignment, e.g.
    // while a restarted member's old id is still in the group, is followed
    // by one that gives them back, with their backlog); other sources (a
    // bootstrapping replay's) stop holding it.
    std::vector<std::tuple<std::string, PartitionId, bool>> assigned;
    for (const TopicPartitionId& tp : partitions)
      assigned.emplace_back(tp.topic, tp.partition, false);
    pipeline_->UpdateSources(assigned, /*others_idle=*/true, config_.kafka.topics);
    absl::Status topics = changelog_topics_unchecked_ ? EnsureChangelogTopics() : absl::OkStatus();
    absl::StatusOr<std::vector<SourceOffset>> offsets =
        topics.ok() ? pipeline_->AssignTasks(partitions) : topics;
    if (!offsets.ok()) {
      // The partitions stay unread until the state can be loaded: a restart
      // (or the next rebalance) tries again.
      std::fprintf(stderr, "nsmd: cannot load the state of the assigned partitions: %s\n",
                   offsets.status().ToString().c_str());
      return std::vector<SourceOffset>();
    }
    return *offsets;
  };
  auto source = KafkaSource::Create(std::move(options));
  if (!source.ok()) return source.status();
  source_ = std::move(*source);
  if (absl::Status s = pipeline_->LoadState(); !s.ok()) {
    exit_code_ = kExitStateUnusable;
    return s;
  }
  state_loaded_ = true;
  if (!config_.kafka.dead_letter_topic.empty()) {
    auto dead_letters = DeadLetterSink::Create(config_.kafka, &probe_);
    if (!dead_letters.ok()) return dead_letters.status();
    dead_letters_ = std::move(*dead_letters);
    pipeline_->set_reject_sink(
        [sink = dead_letters_.get()](absl::string_view topic, PartitionId partition,
                                     KafkaOffset offset, absl::string_view key,
                                     absl::string_view payload, RejectReason reason,
                                     const absl::Status& error) {
          sink->Add(topic, partition, offset, key, payload, reason, error);
        });
    std::fprintf(stderr, "nsmd: rejected messages go to dead-letter topic %s\n",
                 config_.kafka.dead_letter_topic.c_str());
  }
  definitions_ = std::make_shared<const std::vector<MetricDefinition>>(config_.metrics);
  Publish();

  auto http = HttpServer::Start(HttpOptions(config_.http), Handlers());
  if (!http.ok()) return http.status();
  http_ = std::move(*http);
  std::fprintf(stderr, "nsmd: serving /metrics on %s%s%s\n", config_.http.listen.c_str(),
               config_.http.tls ? " over TLS" : "",
               config_.http.basic_auth_users.empty() ? "" : " with basic auth");
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

absl::Status Daemon::EnableRekey() {
  if (config_.state.changelog == ChangelogMode::kOff ||
      config_.kafka.assignment != PartitionAssignment::kGroup) {
    return absl::FailedPreconditionError(
        "kafka.rekey needs kafka.assignment: group and a changelog (state.changelog auto or on): "
        "re-keyed events go out in the changelog's transactions");
  }
  absl::StatusOr<std::vector<std::string>> topics = pipeline_->EnableRekey(config_.kafka.group_id);
  if (!topics.ok()) return topics.status();
  for (const std::string& input : config_.kafka.topics) {
    if (absl::StartsWith(input, Pipeline::RekeyTopicName(config_.kafka.group_id, ""))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "kafka.topics: ", input, " is named like a repartition topic of this group (",
          Pipeline::RekeyTopicName(config_.kafka.group_id, "<field>"), ")"));
    }
  }
  rekey_topics_ = *topics;
  std::fprintf(stderr,
               "nsmd: re-keying (kafka.rekey): events that other fields' metrics count go "
               "through %s\n",
               absl::StrJoin(rekey_topics_, ", ").c_str());
  return absl::OkStatus();
}

absl::Status Daemon::StartChangelog() {
  const bool per_partition = pipeline_->per_partition_tasks();
  const ChangelogMode mode = config_.state.changelog;
  if (mode == ChangelogMode::kOn && !per_partition) {
    return absl::FailedPreconditionError(
        "state.changelog is on, but these definitions run one whole-input task, not one task per "
        "partition (see `nsmd check`): a changelog moves per-partition tasks only. Set "
        "state.changelog to auto or off");
  }
  if (mode == ChangelogMode::kOff ||
      (mode == ChangelogMode::kAuto &&
       !(per_partition && config_.kafka.assignment == PartitionAssignment::kGroup))) {
    return absl::OkStatus();
  }
  if (broker_ != nullptr) {
    // The mock cluster has no CreateTopics: the embedded broker makes them.
    std::vector<std::string> logged = config_.kafka.topics;
    for (const std::string& topic : rekey_topics_) {
      const int partitions = config_.kafka.rekey_partitions > 0 ? config_.kafka.rekey_partitions
                                                                : config_.kafka.embedded_partitions;
      RETURN_IF_ERROR(broker_->CreateTopic(topic, partitions));
      logged.push_back(topic);
    }
    for (const std::string& topic : logged) {
      RETURN_IF_ERROR(broker_->CreateTopic(TaskChangelog::TopicName(config_.kafka.group_id, topic),
                                           config_.kafka.embedded_partitions));
    }
  }
  std::string instance = StaticInstanceId(config_);
  if (instance.empty()) {  // a dynamic member: still one id per state dir
    DaemonConfig named = config_;
    named.kafka.instance_id.clear();
    instance = StaticInstanceId(named);
  }
  auto changelog =
      TaskChangelog::Create(config_.kafka.brokers, config_.kafka.properties, config_.kafka.group_id,
                            absl::StrCat("nsmd-", config_.kafka.group_id, "-", instance),
                            [this]() -> rd_kafka_consumer_group_metadata_t* {
                              return source_ != nullptr ? source_->GroupMetadata() : nullptr;
                            });
  if (!changelog.ok()) return changelog.status();
  changelog_ = std::move(*changelog);
  // A broker that cannot be reached now (nsmd starts before Kafka) does not
  // stop the start: the topics are checked when partitions are assigned,
  // which needs the broker anyway.
  changelog_topics_unchecked_ = true;
  if (absl::Status s = EnsureChangelogTopics(); !s.ok()) {
    if (!absl::IsUnavailable(s) && !absl::IsDeadlineExceeded(s)) return s;
    std::fprintf(stderr,
                 "nsmd: changelog topics not checked yet (%s); they are when partitions are "
                 "assigned\n",
                 s.ToString().c_str());
  }
  pipeline_->set_changelog(changelog_.get());
  std::fprintf(stderr,
               "nsmd: checkpoints go to changelog topics %s (one transaction each); assigned "
               "tasks are restored from them\n",
               TaskChangelog::TopicName(config_.kafka.group_id, "<topic>").c_str());
  return absl::OkStatus();
}

absl::Status Daemon::EnsureChangelogTopics() {
  using Counts = std::map<std::string, int>;
  ASSIGN_OR_RETURN(const Counts partitions,
                   changelog_->EnsureTopics(config_.kafka.topics, rekey_topics_,
                                            config_.kafka.rekey_partitions));
  if (!rekey_topics_.empty()) {
    std::vector<TopicPartitionId> inputs;
    for (const std::string& topic : config_.kafka.topics) {
      for (int p = 0; p < partitions.at(topic); ++p) {
        inputs.push_back(TopicPartitionId{topic, PartitionId(p)});
      }
    }
    pipeline_->SetRekeyOrigins(inputs);
    for (const std::string& topic : rekey_topics_) {
      pipeline_->SetRekeyPartitions(topic, partitions.at(topic));
    }
  }
  changelog_topics_unchecked_ = false;
  return absl::OkStatus();
}

absl::Status Daemon::FlushDeadLetters() {
  return dead_letters_ ? dead_letters_->Flush() : absl::OkStatus();
}

void Daemon::CommitCheckpointedOffsets() {
  if (!source_) return;
  source_->CommitOffsets(pipeline_->checkpointed_offsets()).IgnoreError();
  // Test only (see crash_point.h): passed by checkpoints that wrote something.
  CrashPoint("after_kafka_commit");
}

void Daemon::DrainDecoding() { apply_pool_->Drain(); }

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

absl::Status Daemon::Reload() {
  if (config_.http.tls && http_ != nullptr) {
    // The certificate files are re-read whatever happens to the definitions.
    if (absl::Status s = http_->ReloadTls(); s.ok()) {
      std::fprintf(stderr, "nsmd: re-read the TLS certificate files\n");
    } else {
      std::fprintf(stderr, "nsmd: TLS certificate reload failed, the previous ones stay: %s\n",
                   s.ToString().c_str());
    }
  }
  std::fprintf(stderr, "nsmd: reloading %s\n", config_path_.c_str());
  std::string errors;
  std::optional<DaemonConfig> fresh = LoadRunConfig(config_path_, overrides_, &errors);
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
  absl::Time last_tend = absl::InfinitePast();
  while (!signals_.stop_requested) {
    if (signals_.reload_requested.exchange(false)) reloads_.Run([this] { return Reload(); });
    // While checkpoints fail the partitions are paused (memory stays
    // bounded) but polling goes on, so the group membership and rebalance
    // callbacks stay alive; whatever still arrives is processed normally and
    // committed with the next successful checkpoint.
    int consumed = 0;
    auto n =
        source_->Poll(kPollBatch, kPollTimeout, [this](SourceMessage& m) { apply_pool_->Add(m); });
    // While polls come back full (a backlog), the applying threads work
    // through the queued messages while the next poll is read. A poll with
    // less is caught up: everything is applied now, so no event waits for
    // the next poll.
    const bool backlog = n.ok() && *n == kPollBatch;
    if (!backlog) DrainDecoding();
    pipeline_->ReportLaneCounts();
    if (!n.ok()) {
      std::fprintf(stderr, "nsmd: kafka: %s\n", n.status().ToString().c_str());
      absl::SleepFor(kPollTimeout);
    } else {
      consumed = *n;
    }
    const absl::Time now = absl::Now();
    if (backlog && now - last_tend < kTendInterval) continue;
    last_tend = now;
    ApplyPool::Pause pause(apply_pool_.get());
    Tend(consumed, &next_checkpoint, &backoff, &last_publish);
  }
}

void Daemon::Tend(int consumed, absl::Time* next_checkpoint, absl::Duration* backoff,
                  absl::Time* last_publish) {
  // Interval checkpoints are written in the background (the next messages
  // are processed meanwhile); one at a time. The applying threads are
  // paused between batches, so the state and offsets taken agree.
  const absl::Time now = absl::Now();
  if (now >= *next_checkpoint && !pipeline_->checkpoint_in_flight()) {
    *next_checkpoint = now + *backoff;
    if (absl::Status s = FlushDeadLetters(); !s.ok()) {
      OnIntervalCheckpoint(s, next_checkpoint, backoff);
    } else {
      pipeline_->StartCheckpoint();
      // Nothing to write: done at once.
      if (!pipeline_->checkpoint_in_flight()) {
        OnIntervalCheckpoint(absl::OkStatus(), next_checkpoint, backoff);
      }
    }
  }
  // A result means a batch was in flight, so a success wrote one.
  if (std::optional<absl::Status> s = pipeline_->FinishCheckpoint(/*wait=*/false)) {
    if (s->ok()) CommitCheckpointedOffsets();
    OnIntervalCheckpoint(*s, next_checkpoint, backoff);
  }
  probe_.SetReady([this] {
    std::string reason;
    return Ready(&reason);
  }());
  if (consumed == 0 || now - *last_publish >= kPublishInterval) {
    Publish();
    *last_publish = now;
  }
}

int Daemon::Run() {
  signals_.Start();
  if (absl::Status s = Start(); !s.ok()) {
    std::fprintf(stderr, "nsmd: %s\n", s.ToString().c_str());
    return exit_code_;
  }
  Loop();
  reloads_.Stop();  // requests still waiting are answered now, not at their timeout
  const bool in_group = config_.kafka.assignment == PartitionAssignment::kGroup;
  std::fprintf(stderr, "nsmd: stopping: final checkpoint, then closing the Kafka consumer%s\n",
               in_group ? " (leaving the group)" : "");
  if (generator_) generator_->Stop();
  int code = kExitOk;
  if (absl::Status s = Checkpoint(); !s.ok()) {
    std::fprintf(stderr, "nsmd: final checkpoint failed: %s\n", s.ToString().c_str());
    code = kExitFailure;
  }
  std::vector<ApplyPool::ThreadStats> stats = apply_pool_->stats();
  std::string split;
  for (size_t i = 0; i < stats.size(); ++i) {
    absl::StrAppendFormat(&split, "%s thread %d: %d messages in %.3f s", i == 0 ? "" : ";", i,
                          stats[i].messages, absl::ToDoubleSeconds(stats[i].busy));
  }
  std::fprintf(stderr, "nsmd: applied since start, by thread:%s; waited for a full lane %d times\n",
               split.c_str(), static_cast<int>(apply_pool_->room_waits()));
  source_->Close();
  http_.reset();
  std::fprintf(stderr, "nsmd: stopped\n");
  return code;
}

}  // namespace nsmd
