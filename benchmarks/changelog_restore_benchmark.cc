// Restore time of one task from its changelog: a task whose distinct cell
// holds N members (the engine's "dh" rows: 16-byte member hashes, one blob
// per checkpoint that added members) is written through TaskChangelog to
// an in-process mock broker, then restored into a new RocksDB state dir
// three times; prints rows, bytes and seconds of each restore and the
// median. Plain program, no Google Benchmark loop.
//
//   changelog_restore_benchmark [MEMBERS] [MEMBERS_PER_CHECKPOINT]
//
// The mock broker keeps at most 5 MiB per partition (see
// ../shared/notes/kafka-mock-facts.md): a changelog partition larger than
// that loses its oldest records, which the program detects and reports
// instead of timing an incomplete restore.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/app/task_changelog.h"
#include "daemon/source/changelog_reader.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/state/state_store.h"

namespace nsmd {
namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "changelog_restore_benchmark: %s\n", s.ToString().c_str());
  return 1;
}

int Run(int64_t members, int64_t per_checkpoint) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("nsmd-restore-bench-", getpid());
  auto broker = EmbeddedBroker::Start();
  if (!broker.ok()) return Fail(broker.status());
  const std::string changelog_topic = TaskChangelog::TopicName("bench", "events");
  if (absl::Status s = (*broker)->CreateTopic("events", 1); !s.ok()) return Fail(s);
  if (absl::Status s = (*broker)->CreateTopic(changelog_topic, 1); !s.ok()) return Fail(s);
  const std::string brokers = (*broker)->bootstrap_servers();
  auto writer = TaskChangelog::Create(brokers, {}, "bench", "bench-writer", nullptr);
  if (!writer.ok()) return Fail(writer.status());
  auto source = StateStore::Open((dir / "writer").string(), "bench");
  if (!source.ok()) return Fail(source.status());

  // The rows a checkpoint of a growing distinct cell writes, plus the
  // task's stream time and counts rows.
  std::mt19937_64 rng(42);
  const std::string cell = "t/events/0/m/weekly_users/f00d/dh";
  int64_t written = 0;
  uint64_t value_bytes = 0;
  const absl::Time write_start = absl::Now();
  for (int64_t seq = 0; written < members; ++seq) {
    const int64_t n = std::min(per_checkpoint, members - written);
    std::string blob(static_cast<size_t>(n) * 16, '\0');
    for (size_t i = 0; i < blob.size(); i += 8) {
      const uint64_t r = rng();
      std::memcpy(&blob[i], &r, 8);
    }
    value_bytes += blob.size();
    StateDelta delta;
    delta.PutOwned(absl::StrCat(cell, std::string(1, '\0'), "1704067200000", std::string(1, '\0'),
                                std::string(1, '\0'), seq),
                   std::move(blob));
    delta.Put("t/events/0/s/events/0", absl::StrCat(1704067200000 + seq));
    written += n;
    const std::vector<SourceOffset> offsets = {{"events", PartitionId(0), KafkaOffset(written)}};
    std::vector<SourceOffset> ends;
    if (absl::Status s = (*writer)->Write(delta, offsets, {}, **source, &ends); !s.ok())
      return Fail(s);
    if (absl::Status s = (*source)->Commit(delta, offsets, ends); !s.ok()) return Fail(s);
  }
  const double write_s = absl::ToDoubleSeconds(absl::Now() - write_start);

  auto reader = ChangelogReader::Create(brokers, {});
  if (!reader.ok()) return Fail(reader.status());
  auto marks = (*reader)->QueryWatermarks({changelog_topic, PartitionId(0)}, absl::Seconds(10));
  if (!marks.ok()) return Fail(marks.status());
  std::printf(
      "members %lld, %lld per checkpoint: %lld changelog records, %.1f MiB of row values, "
      "written in %.2f s\n",
      static_cast<long long>(members), static_cast<long long>(per_checkpoint),
      static_cast<long long>(marks->high), value_bytes / 1048576.0, write_s);
  if (marks->low != 0) {
    std::printf(
        "the mock broker dropped the first %lld records (its 5 MiB per partition cap): "
        "a restore would be incomplete, not timed\n",
        static_cast<long long>(marks->low));
    std::filesystem::remove_all(dir);
    return 2;
  }
  std::vector<double> seconds;
  for (int round = 0; round < 3; ++round) {
    auto restorer =
        TaskChangelog::Create(brokers, {}, "bench", absl::StrCat("bench-r", round), nullptr);
    if (!restorer.ok()) return Fail(restorer.status());
    auto target = StateStore::Open((dir / absl::StrCat("restore", round)).string(), "bench");
    if (!target.ok()) return Fail(target.status());
    auto r = (*restorer)->Restore(TopicPartitionId{"events", PartitionId(0)}, target->get());
    if (!r.ok()) return Fail(r.status());
    uint64_t restored_bytes = 0;
    uint64_t rows = 0;
    absl::Status scan = (*target)->ScanEngineStateUnder(
        "t/events/0/", [&](absl::string_view, absl::string_view value) {
          restored_bytes += value.size();
          ++rows;
          return absl::OkStatus();
        });
    if (!scan.ok()) return Fail(scan);
    seconds.push_back(absl::ToDoubleSeconds(r->elapsed));
    std::printf(
        "restore %d: %llu records, %llu rows written, %llu rows / %.1f MiB in the store, "
        "%.3f s (%.0f members/s)\n",
        round + 1, static_cast<unsigned long long>(r->records),
        static_cast<unsigned long long>(r->rows), static_cast<unsigned long long>(rows),
        restored_bytes / 1048576.0, seconds.back(), members / seconds.back());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("median restore: %.3f s (%.0f members/s)\n", seconds[1], members / seconds[1]);
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace nsmd

int main(int argc, char** argv) {
  const int64_t members = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int64_t per_checkpoint = argc > 2 ? std::atoll(argv[2]) : 50000;
  return nsmd::Run(members, per_checkpoint);
}
