// A year of an insurer's claim events (config/examples/services.yaml) through
// the pipeline (decode -> engine -> RocksDB state, a checkpoint per simulated
// hour), reporting at each simulated month the process's RSS and the state
// rows, by kind. Both must be flat once the first cohort length (72 h) has
// passed: no table may keep every claim ever opened.
//
// Usage: cohort_memory_benchmark [--claims-per-hour N] [--months M] [--state-dir DIR]
// Defaults: 300 claims/hour (2.6 M claims a year), 12 months, a fresh temp dir.
// Each claim is opened, resolved a random time later (exponential, mean
// 10 h, so about 3,000 are open at a time; 0.1 % take longer than 72 h),
// and each customer uses services now and then (one service_used event per
// claim). Figures: benchmarks/RESULTS.md.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "daemon/app/partition_task.h"
#include "daemon/app/pipeline.h"
#include "daemon/config/config_loader.h"
#include "daemon/state/state_store.h"

namespace nsmd {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kStartMs = 1704067200000;  // 2024-01-01T00:00Z

int64_t RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "cohort_memory_benchmark: %s\n", what.c_str());
  std::exit(1);
}

// A claim's resolution, due at `time_ms`.
struct Resolution {
  int64_t time_ms;
  uint64_t claim;
  uint64_t user;
  bool operator>(const Resolution& o) const { return time_ms > o.time_ms; }
};

int Main(int argc, char** argv) {
  int claims_per_hour = 300;
  int months = 12;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--claims-per-hour" && absl::SimpleAtoi(argv[i + 1], &claims_per_hour)) continue;
    if (flag == "--months" && absl::SimpleAtoi(argv[i + 1], &months)) continue;
    if (flag == "--state-dir") {
      dir = argv[i + 1];
      continue;
    }
    Die(absl::StrCat("bad flag ", flag));
  }
  if (dir.empty()) {
    dir =
        (std::filesystem::temp_directory_path() / absl::StrCat("nsmd-cohort-", getpid())).string();
  }
  std::filesystem::remove_all(dir);
  ConfigLoadResult loaded = LoadConfigFile(NSMD_SOURCE_DIR "/config/examples/services.yaml");
  if (!loaded.config) Die("cannot load services.yaml");
  DaemonConfig config = std::move(*loaded.config);
  // Simulated time runs past today's wall clock after ~35 months from 2024.
  config.max_future_skew = absl::Hours(24 * 365 * 100);
  auto store = StateStore::Open(dir, "bench");
  if (!store.ok()) Die(store.status().ToString());
  auto pipeline = Pipeline::Create(config, store->get(), nullptr);
  if (!pipeline.ok()) Die(pipeline.status().ToString());
  if (absl::Status s = (*pipeline)->LoadState(); !s.ok()) Die(s.ToString());
  Pipeline& p = **pipeline;

  std::mt19937_64 rng(20261204);
  std::exponential_distribution<double> gap_h(claims_per_hour);  // hours between claims
  std::exponential_distribution<double> resolve_h(1.0 / 10);     // mean 10 h
  std::uniform_int_distribution<uint64_t> user_of(1, 500000);
  std::bernoulli_distribution self_service(0.4);
  const char* kServices[] = {"motor", "home", "travel", "health"};
  std::priority_queue<Resolution, std::vector<Resolution>, std::greater<>> due;
  int64_t offset = 0;
  uint64_t next_claim = 1, events = 0;
  auto send = [&](const std::string& json) {
    p.Process("service-events", PartitionId(0), KafkaOffset(offset++), json);
    ++events;
  };
  auto event = [&](const char* type, int64_t t, uint64_t user, const std::string& props) {
    return absl::StrCat("{\"event_type\":\"", type, "\",\"time\":", t, ",\"user_id\":\"u", user,
                        "\",\"insert_id\":\"", offset, "\",\"event_properties\":{", props, "}}");
  };

  std::printf(
      "| month | events | claims opened | open now | RSS MiB "
      "| RocksDB MiB: memtables + block cache + table readers "
      "| state rows | anchors (a) | pending (p) | other |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  const int64_t end = kStartMs + static_cast<int64_t>(months) * 30 * 24 * kHourMs;
  int64_t t = kStartMs, next_checkpoint = kStartMs + kHourMs;
  int64_t next_report = kStartMs + 30 * 24 * kHourMs;
  int month = 1;
  while (t < end) {
    t += static_cast<int64_t>(gap_h(rng) * kHourMs) + 1;
    while (!due.empty() && due.top().time_ms <= t) {
      const Resolution r = due.top();
      due.pop();
      send(event("claim_resolved", r.time_ms, r.user,
                 absl::StrCat("\"claim_id\":\"c", r.claim, "\",\"channel\":\"",
                              self_service(rng) ? "self_service" : "agent", "\"")));
    }
    const uint64_t user = user_of(rng);
    const uint64_t claim = next_claim++;
    send(event("claim_opened", t, user, absl::StrCat("\"claim_id\":\"c", claim, "\"")));
    send(
        event("service_used", t, user, absl::StrCat("\"service\":\"", kServices[rng() % 4], "\"")));
    due.push(Resolution{t + static_cast<int64_t>(resolve_h(rng) * kHourMs), claim, user});
    if (t >= next_checkpoint) {
      if (absl::Status s = p.Checkpoint(); !s.ok()) Die(s.ToString());
      next_checkpoint += kHourMs;
    }
    if (t >= next_report) {
      std::map<char, uint64_t> rows;
      uint64_t total = 0;
      absl::Status s = (*store)->ScanEngineState([&](absl::string_view key, absl::string_view) {
        // The task's prefix (PartitionTask::KeyPrefix: "t/*/" for the whole
        // input), then "m/<metric>/<fingerprint>/<kind>\0...": count by the
        // kind's first letter.
        if (!absl::ConsumePrefix(&key, PartitionTask::KeyPrefix(PartitionTask::WholeInput()))) {
          Die(absl::StrCat("a row outside the whole-input task: ", key));
        }
        size_t slash = 0;
        for (int i = 0; i < 3 && slash != absl::string_view::npos; ++i) {
          slash = key.find('/', slash + (i > 0));
        }
        ++total;
        ++rows[key.size() > slash + 1 && key[0] == 'm' ? key[slash + 1] : '?'];
        return absl::OkStatus();
      });
      if (!s.ok()) Die(s.ToString());
      for (uint64_t rejected : p.counts().rejected) {
        if (rejected > 0) Die("events were rejected; the figures would not be this workload's");
      }
      const StateStore::MemoryUsage memory = (*store)->Memory();
      constexpr double kMiB = 1 << 20;
      std::printf(
          "| %d | %llu | %llu | %zu | %.0f | %.0f + %.0f + %.1f | %llu | %llu | %llu | %llu |\n",
          month, static_cast<unsigned long long>(events),
          static_cast<unsigned long long>(next_claim - 1), due.size(), RssKiB() / 1024.0,
          memory.memtables / kMiB, memory.block_cache / kMiB, memory.table_readers / kMiB,
          static_cast<unsigned long long>(total), static_cast<unsigned long long>(rows['a']),
          static_cast<unsigned long long>(rows['p']),
          static_cast<unsigned long long>(total - rows['a'] - rows['p']));
      std::fflush(stdout);
      next_report += 30 * 24 * kHourMs;
      ++month;
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace nsmd

int main(int argc, char** argv) { return nsmd::Main(argc, argv); }
