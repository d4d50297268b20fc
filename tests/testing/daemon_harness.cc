#include "tests/testing/daemon_harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "simdjson.h"
#include "tests/testing/http_client.h"

namespace nsmd::testing {

std::filesystem::path MakeTempDir(const std::string& prefix) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      absl::StrCat(prefix, "-", getpid(), "-", absl::ToUnixMicros(absl::Now()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

CommandOutput RunNsmdCommand(const std::string& args) {
  return RunShellCommand(absl::StrCat(NsmdBinary(), " ", args));
}

CommandOutput RunShellCommand(const std::string& command) {
  const std::filesystem::path dir = MakeTempDir("nsmd-command");
  const std::filesystem::path err = dir / "stderr";
  CommandOutput o;
  FILE* pipe = popen(absl::StrCat(command, " 2>", err.string()).c_str(), "r");
  if (pipe != nullptr) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) o.out.append(buf, n);
    const int status = pclose(pipe);
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.err = ReadFile(err);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return o;
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartBroker(const std::string& topics, int partitions,
                                                        std::string* bootstrap) {
  auto broker = Subprocess::Start(
      {NsmdBinary(), "broker", "--topic", topics, "--partitions", absl::StrCat(partitions)});
  if (!broker.ok()) return broker.status();
  auto line = (*broker)->ReadLine(absl::Seconds(20));
  if (!line.ok()) return line.status();
  *bootstrap = *line;
  return broker;
}

absl::StatusOr<std::unique_ptr<Subprocess>> StartNsmd(const std::string& config,
                                                      const std::string& stderr_path,
                                                      const std::vector<std::string>& extra_args,
                                                      const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv = {NsmdBinary(), "run", "--config", config};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (stderr_path.empty()) return Subprocess::Start(argv, extra_env);
  // Through the shell, only to redirect stderr; arguments are quoted.
  std::string command = "exec";
  for (const std::string& arg : argv) absl::StrAppend(&command, " '", arg, "'");
  absl::StrAppend(&command, " 2>>'", stderr_path, "'");
  return Subprocess::Start({"/bin/sh", "-c", command}, extra_env);
}

absl::Status StopGracefully(Subprocess& process, absl::Duration timeout) {
  process.Signal(SIGTERM);
  auto status = process.Wait(timeout);
  if (!status.ok()) {
    return absl::DeadlineExceededError(absl::StrCat("pid ", process.pid(), " did not exit within ",
                                                    absl::FormatDuration(timeout), " of SIGTERM"));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return absl::InternalError(
        absl::StrCat("pid ", process.pid(), " did not exit with code 0: wait status ", *status));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AssignedPartition>> FetchAssignment(int port) {
  auto r = HttpRequest(port, "GET", "/api/v1/status");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::UnavailableError(absl::StrCat("/api/v1/status answered ", r->status));
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array assignment;
  if (parser.parse(r->body).get(doc) || doc["assignment"].get_array().get(assignment)) {
    return absl::InvalidArgumentError(absl::StrCat("no assignment array in ", r->body));
  }
  std::vector<AssignedPartition> out;
  for (simdjson::dom::element p : assignment) {
    AssignedPartition a;
    std::string_view topic;
    int64_t partition;
    if (p["topic"].get_string().get(topic) || p["partition"].get_int64().get(partition)) {
      return absl::InvalidArgumentError(absl::StrCat("malformed assignment in ", r->body));
    }
    a.topic = std::string(topic);
    a.partition = static_cast<int32_t>(partition);
    simdjson::dom::element offset = p["checkpointed_offset"];
    if (!offset.is_null() && offset.get_int64().get(a.checkpointed_offset)) {
      return absl::InvalidArgumentError(absl::StrCat("malformed checkpointed_offset in ", r->body));
    }
    out.push_back(std::move(a));
  }
  std::sort(out.begin(), out.end(), [](const AssignedPartition& x, const AssignedPartition& y) {
    return std::tie(x.topic, x.partition) < std::tie(y.topic, y.partition);
  });
  return out;
}

absl::StatusOr<std::vector<int64_t>> CountMessagesPerPartition(const std::string& bootstrap,
                                                               const std::string& topic,
                                                               int partitions) {
  FILE* kcat = popen(absl::StrCat("kcat -C -b ", bootstrap, " -t ", topic,
                                  " -o beginning -e -q -f '%p\\n' 2>/dev/null")
                         .c_str(),
                     "r");
  if (kcat == nullptr) return absl::InternalError("cannot run kcat");
  std::vector<int64_t> counts(static_cast<size_t>(partitions), 0);
  char line[64];
  bool bad = false;
  while (std::fgets(line, sizeof line, kcat) != nullptr) {
    const int p = std::atoi(line);
    if (p < 0 || p >= partitions) {
      bad = true;
    } else {
      ++counts[static_cast<size_t>(p)];
    }
  }
  const int status = pclose(kcat);
  if (bad || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("kcat could not read topic ", topic));
  }
  return counts;
}

absl::Status AwaitMetrics(int port, const std::map<std::string, double>& expected,
                          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string body;
  while (true) {
    auto r = HttpRequest(port, "GET", "/metrics");
    if (r.ok() && r->status == 200) {
      body = r->body;
      bool all = true;
      for (const auto& [series, value] : expected) {
        auto v = PrometheusValue(body, series);
        all &= v.ok() && *v == value;
      }
      if (all) return absl::OkStatus();
    }
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::string diff;
  for (const auto& [series, value] : expected) {
    auto v = PrometheusValue(body, series);
    if (!v.ok() || *v != value) {
      absl::StrAppend(&diff, "\n  ", series, " expected ", value, " got ",
                      v.ok() ? absl::StrCat(*v) : "nothing");
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("metrics never matched:", diff));
}

absl::Status AwaitHttpStatus(int port, const std::string& path, int status,
                             absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int last = 0;
  while (absl::Now() < deadline) {
    auto r = HttpRequest(port, "GET", path);
    last = r.ok() ? r->status : 0;
    if (last == status) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("GET ", path, " answered ", last, ", not ", status));
}

std::map<std::string, double> OwnedTaskCounts(const std::string& metrics_text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(metrics_text, '\n')) {
    if (!absl::ConsumePrefix(&line, "nsmd_owned_tasks_messages{") &&
        !absl::ConsumePrefix(&line, "nsmd_owned_tasks_messages_rejected{")) {
      continue;
    }
    const size_t brace = line.find('}');
    double value = 0;
    if (brace == absl::string_view::npos || !absl::SimpleAtod(line.substr(brace + 2), &value)) {
      continue;
    }
    if (value != 0) out[std::string(line.substr(0, brace))] = value;
  }
  return out;
}

std::string WriteRunConfig(const std::filesystem::path& dir, const std::string& bootstrap,
                           const std::string& group_id, int port, const std::string& http_extra,
                           const std::string& metrics) {
  const std::string path = (dir / "nsmd.yaml").string();
  std::ofstream(path) << absl::StrCat(
      "kafka:\n  brokers: ", bootstrap, "\n  topics: [events]\n  group_id: ", group_id,
      "\nstate:\n  dir: ", (dir / "state").string(), "\nhttp:\n  listen: 127.0.0.1:", port, "\n",
      http_extra, "metrics:", metrics);
  return path;
}

}  // namespace nsmd::testing
