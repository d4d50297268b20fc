#include "daemon/app/line_replay.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/base/status_macros.h"
#include "daemon/decode/decoded_batch.h"

namespace nsmd {
namespace {

constexpr char kReplayTopic[] = "replay";

// The input is read in blocks of this size (grown for a longer line), and
// its lines go to the pipeline in batches of at most kBatchLines.
constexpr size_t kReadBlock = 1 << 20;
constexpr size_t kBatchLines = 1000;

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

}  // namespace

absl::Status ReplayLines(const std::string& path, absl::Duration checkpoint_interval,
                         Pipeline* pipeline, EventTimeHook* hook) {
  // zlib reads plain text through unchanged ("transparent" mode).
  GzFile in;
  if (path == "-") {
    // A copy of stdin's descriptor: gzclose closes it, not stdin.
    const int fd = dup(STDIN_FILENO);
    in.reset(fd < 0 ? nullptr : gzdopen(fd, "rb"));
    if (in == nullptr && fd >= 0) close(fd);
  } else {
    in.reset(gzopen(path.c_str(), "rb"));
  }
  if (in == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  gzbuffer(in.get(), 256 * 1024);
  const std::unique_ptr<EventDecoder> decoder = pipeline->NewDecoder();
  DecodedBatch batch;
  // The batch's lines and offsets, to apply one by one around a hook.
  std::vector<std::pair<absl::string_view, int64_t>> lines;
  auto apply = [&] {
    batch.Decode(decoder.get());
    size_t cross = batch.size();  // the first event at or after hook->at
    if (hook != nullptr) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].event != nullptr && batch[i].event->time >= hook->at) {
          cross = i;
          break;
        }
      }
    }
    if (cross == batch.size()) {
      pipeline->ProcessBatch(batch);
    } else {
      // Rare (once per hook time): decode again, one message at a time.
      for (size_t i = 0; i < lines.size(); ++i) {
        const Event* e = batch[i].event;
        if (i >= cross && e != nullptr && e->time >= hook->at) {
          pipeline->Flush();
          while (e->time >= hook->at) hook->at = hook->reached(e->time);
        }
        pipeline->Process(kReplayTopic, PartitionId(0), KafkaOffset(lines[i].second),
                          lines[i].first);
      }
      pipeline->Flush();
    }
    batch.Clear();
    lines.clear();
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
    const int n = gzread(in.get(), buffer.data() + end, static_cast<unsigned>(buffer.size() - end));
    if (n < 0) {
      int code = 0;
      return absl::DataLossError(
          absl::StrCat("error reading ", path, ": ", gzerror(in.get(), &code)));
    }
    end += static_cast<size_t>(n);
    at_end = n == 0;
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
      message.offset = KafkaOffset(line_number);
      message.payload = line;
      // Lent, not copied: the buffer keeps the bytes until the batch is applied.
      message.lease = MessageLease(buffer.data(), [](void*) {});
      batch.Add(message);
      lines.emplace_back(line, line_number);
      if (batch.size() == kBatchLines) apply();
    }
    if (!batch.empty()) apply();
    if (absl::Now() >= next_checkpoint) {
      RETURN_IF_ERROR(pipeline->Checkpoint());
      next_checkpoint = absl::Now() + checkpoint_interval;
    }
  }
  // A gzip stream cut short reads as its end: zlib reports it only here.
  int code = Z_OK;
  const char* error = gzerror(in.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    return absl::DataLossError(absl::StrCat("error reading ", path, ": ", error));
  }
  return pipeline->Checkpoint();
}

void PrintReplayCounts(const Pipeline::Counts& c, absl::Duration elapsed) {
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

}  // namespace nsmd
