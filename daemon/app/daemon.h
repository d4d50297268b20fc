// Daemon: `nsmd run`'s lifecycle, from start-up to the final checkpoint.
#ifndef NSMD_DAEMON_APP_DAEMON_H_
#define NSMD_DAEMON_APP_DAEMON_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "daemon/app/apply_pool.h"
#include "daemon/app/dead_letter_sink.h"
#include "daemon/app/pipeline.h"
#include "daemon/app/reload_requests.h"
#include "daemon/app/run_config.h"
#include "daemon/app/signal_watcher.h"
#include "daemon/app/task_changelog.h"
#include "daemon/config/daemon_config.h"
#include "daemon/export/http_server.h"
#include "daemon/export/pipeline_probe.h"
#include "daemon/export/snapshot_publisher.h"
#include "daemon/export/status_page.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/source/event_generator.h"
#include "daemon/source/kafka_source.h"
#include "daemon/state/state_store.h"

namespace nsmd {

// The daemon. Wires the stages together and owns the threads:
//   - the pipeline thread (the one that calls Run()): Kafka poll, handing
//     each message to the applying thread of its task; in pauses of those
//     threads, checkpoints (state + offsets in one RocksDB batch) and
//     snapshot publishes; reloads, revokes and assignments after draining
//     them;
//   - pipeline.threads applying threads (ApplyPool), each decoding and
//     applying the messages of its share of the tasks;
//   - the HTTP server's threads, which read published snapshots and status
//     only (under status_mu_) and hand reload requests over (ReloadRequests);
//   - a signal thread turning SIGTERM/SIGINT into a stop, SIGHUP into a
//     reload (SignalWatcher).
// daemon.cc holds the lifecycle, daemon_status.cc what the HTTP endpoints
// read (readiness, status, published snapshots).
class Daemon {
 public:
  // Exit codes of Run().
  static constexpr int kExitOk = 0;
  static constexpr int kExitFailure = 1;        // config, Kafka set-up, final checkpoint
  static constexpr int kExitStateUnusable = 3;  // another config's, corrupt, not a dir

  // `config` was read from `config_path` with `overrides` (which a reload
  // applies again). Must be constructed before any other thread starts (it
  // blocks the signals it takes).
  Daemon(std::string config_path, RunOverrides overrides, DaemonConfig config,
         bool reload_endpoint);
  // Stops the HTTP server first: its handlers use members declared after it.
  ~Daemon();

  // Starts, runs until SIGTERM/SIGINT, writes a final checkpoint and stops;
  // returns the exit code.
  int Run();

 private:
  // daemon.cc: the lifecycle.
  absl::Status Start();
  // Turns on the pipeline's re-keying (kafka.rekey) and sets
  // rekey_topics_.
  absl::Status EnableRekey();
  // Sets up changelog_ when state.changelog asks for one: the topics, the
  // transactional producer, the pipeline's use of it.
  absl::Status StartChangelog();
  // Creates missing changelog topics and checks their partition counts
  // (TaskChangelog::EnsureTopics); clears changelog_topics_unchecked_ on
  // success.
  absl::Status EnsureChangelogTopics();
  void Loop();
  absl::Status Reload();
  // Delivers dead letters produced so far (before any checkpoint that
  // stores offsets past them).
  absl::Status FlushDeadLetters();
  // After a checkpoint that wrote a batch: commits its offsets to Kafka (for
  // lag tools).
  void CommitCheckpointedOffsets();
  // A synchronous checkpoint (on revoke, reload, stop): waits for a write
  // in flight, then writes and waits.
  absl::Status Checkpoint();
  // Applies every message polled: afterwards the pipeline has processed
  // them all, and the applying threads are idle until the next poll.
  void DrainDecoding();
  // The loop's work on the pipeline besides polling (checkpoints, publish,
  // readiness), with the applying threads paused; `consumed` messages came
  // with the last poll.
  void Tend(int consumed, absl::Time* next_checkpoint, absl::Duration* backoff,
            absl::Time* last_publish);
  // The outcome of an interval checkpoint: resumes or pauses consumption and
  // sets the next one (after `backoff`, doubled on failure).
  void OnIntervalCheckpoint(const absl::Status& s, absl::Time* next_checkpoint,
                            absl::Duration* backoff);

  // daemon_status.cc: what the HTTP endpoints read.
  // The endpoints' handlers (HTTP threads).
  HttpServer::Handlers Handlers();
  // /readyz: true if ready, else sets *reason (any thread).
  bool Ready(std::string* reason) const;
  // Publishes a snapshot of the engine with its definitions, lag and the
  // status (pipeline thread).
  void Publish();

  const std::string config_path_;
  const RunOverrides overrides_;
  DaemonConfig config_;
  const bool reload_endpoint_;
  SignalWatcher signals_;
  ReloadRequests reloads_;

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<EventGenerator> generator_;
  std::unique_ptr<StateStore> store_;
  PipelineProbe probe_;
  std::shared_ptr<SnapshotPublisher> publisher_ = std::make_shared<SnapshotPublisher>();
  // The definitions the pipeline's engine runs, published with each of its
  // snapshots (pipeline thread).
  std::shared_ptr<const std::vector<MetricDefinition>> definitions_;
  // Null without a changelog (state.changelog); outlives pipeline_, whose
  // checkpoint writer uses it.
  std::unique_ptr<TaskChangelog> changelog_;
  // The repartition topics (kafka.rekey), consumed with kafka.topics.
  std::vector<std::string> rekey_topics_;
  // The broker could not be asked about the changelog topics at start.
  bool changelog_topics_unchecked_ = false;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<KafkaSource> source_;
  // Decodes and applies polled messages on pipeline.threads threads.
  // Destroyed before source_: its batches may hold messages lent by it.
  std::unique_ptr<ApplyPool> apply_pool_;
  std::unique_ptr<DeadLetterSink> dead_letters_;  // null without a dead-letter topic
  std::unique_ptr<HttpServer> http_;

  int exit_code_ = kExitFailure;  // when Start() fails
  std::atomic<bool> state_loaded_{false};
  std::atomic<bool> checkpoint_failing_{false};
  // Status fields written by the pipeline thread, read by HTTP threads.
  mutable absl::Mutex status_mu_;
  std::string status_json_ ABSL_GUARDED_BY(status_mu_) = "{}";
  DaemonHealth health_ ABSL_GUARDED_BY(status_mu_);  // for the status page; `ready` unset
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_DAEMON_H_
