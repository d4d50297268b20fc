// Helpers for end-to-end tests that run `nsmd broker` and `nsmd run` as
// child processes and talk to them over TCP.
#ifndef NSMD_TESTS_TESTING_DAEMON_HARNESS_H_
#define NSMD_TESTS_TESTING_DAEMON_HARNESS_H_

#include <compare>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace nsmd::testing {

// What a finished nsmd command printed and returned.
struct CommandOutput {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};

// Runs `nsmd ARGS` (ARGS as shell words) to completion.
CommandOutput RunNsmdCommand(const std::string& args);

// Runs a shell command line (e.g. another program the tests drive) to
// completion.
CommandOutput RunShellCommand(const std::string& command);

// A fresh directory under the system temp dir, named after `prefix`.
std::filesystem::path MakeTempDir(const std::string& prefix);

// The whole content of `path` ("" if unreadable).
std::string ReadFile(const std::filesystem::path& path);

// `nsmd broker --topic TOPICS --partitions N` as a child; sets *bootstrap to
// the address it prints first.
absl::StatusOr<std::unique_ptr<Subprocess>> StartBroker(const std::string& topics, int partitions,
                                                        std::string* bootstrap);

// `nsmd run --config CONFIG [extra_args...]` as a child. With a non-empty
// `stderr_path` its log goes to that file (to assert on it) instead of the
// test's stderr.
// `extra_env` ("NAME=value") is added to its environment.
absl::StatusOr<std::unique_ptr<Subprocess>> StartNsmd(
    const std::string& config, const std::string& stderr_path = "",
    const std::vector<std::string>& extra_args = {},
    const std::vector<std::string>& extra_env = {});

// Sends SIGTERM to `process` and waits up to `timeout` for it to exit. OK if
// it exited with code 0; DeadlineExceeded if it is still running (it stays
// running: destroying the Subprocess kills it); Internal, with the wait
// status, if it exited otherwise.
absl::Status StopGracefully(Subprocess& process, absl::Duration timeout);

// The owned tasks' counts in a /metrics text, as `outcome="..."`
// (nsmd_owned_tasks_messages) and `reason="..."`
// (nsmd_owned_tasks_messages_rejected) -> value; zeros left out.
std::map<std::string, double> OwnedTaskCounts(const std::string& metrics_text);

// Writes dir/nsmd.yaml for `nsmd run` and returns its path: `bootstrap`'s
// topic "events" in consumer group `group_id`, the state in dir/state, HTTP
// on 127.0.0.1:`port` followed by `http_extra` (more "  key: value\n" lines
// of the http section), then "metrics:" and `metrics`.
std::string WriteRunConfig(const std::filesystem::path& dir, const std::string& bootstrap,
                           const std::string& group_id, int port, const std::string& http_extra,
                           const std::string& metrics);

// Two lifetime metrics over `file_edited` events, as items of a `metrics:`
// list: a newline, then 9 lines: "edits" (the north star, counts events)
// and "editors" (distinct userId).
inline constexpr char kEditsAndEditorsMetrics[] = R"(
  - name: edits
    role: north_star
    filter: {event: file_edited}
    measure: events
    window: lifetime
  - name: editors
    filter: {event: file_edited}
    measure: {distinct: userId}
    window: lifetime
)";

// One assigned partition as GET /api/v1/status reports it.
struct AssignedPartition {
  std::string topic;
  int32_t partition = 0;
  int64_t checkpointed_offset = -1;  // -1: null (no checkpoint for it)
  friend bool operator==(const AssignedPartition&, const AssignedPartition&) = default;
  // "topic/partition@offset" in test failure messages.
  friend std::ostream& operator<<(std::ostream& os, const AssignedPartition& p) {
    return os << p.topic << "/" << p.partition << "@" << p.checkpointed_offset;
  }
};

// The "assignment" array of GET http://127.0.0.1:PORT/api/v1/status, sorted
// by topic and partition. Unavailable if nsmd does not answer 200;
// InvalidArgument if the JSON is not as documented.
absl::StatusOr<std::vector<AssignedPartition>> FetchAssignment(int port);

// The number of messages in each partition of `topic` (index = partition),
// read from the beginning with kcat, an independent client. On a fresh topic
// this is each partition's end offset.
absl::StatusOr<std::vector<int64_t>> CountMessagesPerPartition(const std::string& bootstrap,
                                                               const std::string& topic,
                                                               int partitions);

// Scrapes http://127.0.0.1:PORT/metrics until every `expected` series has
// its value, up to `timeout`. On timeout, the error lists each series that
// differs with the value last seen.
absl::Status AwaitMetrics(int port, const std::map<std::string, double>& expected,
                          absl::Duration timeout = absl::Seconds(60));

// Polls GET PATH until it answers `status`, up to `timeout`.
absl::Status AwaitHttpStatus(int port, const std::string& path, int status,
                             absl::Duration timeout = absl::Seconds(60));

}  // namespace nsmd::testing

#endif  // NSMD_TESTS_TESTING_DAEMON_HARNESS_H_
