// StateStore: nsmd's RocksDB database.
//
// On-disk format (format_version 4). One RocksDB database, default column
// family only; keys and values are raw bytes, ordered bytewise:
//
//   <engine key>            -> <engine value>
//       Keys the caller chooses, stored exactly as given: nsmd keeps each
//       task's rows under "t/<topic>/<partition>/" followed by the engine's
//       keys, "m/..." (metric state), "s/..." (stream time of a source),
//       "x/..." (dedup ids); see daemon/engine/state_key.h. The store does
//       not interpret them; any key outside the two namespaces below is
//       engine state.
//   "o/" <topic> "/" <partition>   -> <next_offset>
//       A source offset (SourceOffset). <partition> and <next_offset> are
//       ASCII decimal (int32 and int64, '-' for negatives, no padding), so
//       `ldb scan` output is readable. <topic> may itself contain '/': the
//       partition is what follows the last '/'.
//   "c/" <topic> "/" <partition>   -> <changelog next offset>
//       For a task with a changelog (changelog_record.cc): the offset of its
//       changelog partition after the last checkpoint the task's rows here
//       reflect, written in the checkpoint's batch; restore reads on from
//       it. Encoded as "o/" rows.
//   "meta/identity"          -> <config identity>
//       The config the state belongs to; Open() refuses a different one.
//   "meta/format_version"    -> "4"   (a dir of another version is refused)
//   "meta/setting/" <name>   -> <value>
//       A config setting the state depends on ("time.zone", "time.week_start",
//       "kafka.topics"); VerifySettings() records it when absent and refuses a
//       different value.
//
// The identity and format version rows are written together, fsync'ed, when
// a database is created. A Commit() is one WriteBatch (engine prefix
// deletions as DeleteRange, then engine Puts/Deletes, then offset Puts) written with sync=true, so
// a crash leaves all of a checkpoint or none.
#include "daemon/state/state_store.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/state/rocksdb_stderr_logger.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace nsmd {
namespace {

constexpr absl::string_view kOffsetPrefix = "o/";
constexpr absl::string_view kMetaPrefix = "meta/";
constexpr absl::string_view kChangelogPrefix = "c/";
constexpr absl::string_view kIdentityKey = "meta/identity";
constexpr absl::string_view kFormatVersionKey = "meta/format_version";
// 4: every row under its task ("t/<topic>/<partition>/"), so a partition's
// state can move between instances; version 3 kept one engine's rows for
// all partitions, 2 a row per rolling member ("rd"), 1 also a row per member
// of every distinct cell.
constexpr absl::string_view kFormatVersion = "4";
constexpr absl::string_view kSettingPrefix = "meta/setting/";

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// The smallest string greater than every string starting with `prefix`, or ""
// if there is none (prefix empty or all 0xff).
std::string PrefixSuccessor(absl::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    unsigned char& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

// True if a key starting with `prefix` could be one of the store's own rows.
bool OverlapsStoreRows(absl::string_view prefix) {
  for (absl::string_view reserved : {kOffsetPrefix, kMetaPrefix, kChangelogPrefix}) {
    if (absl::StartsWith(reserved, prefix) || absl::StartsWith(prefix, reserved)) return true;
  }
  return false;
}

std::string OffsetKey(absl::string_view topic, PartitionId partition) {
  return absl::StrCat(kOffsetPrefix, topic, "/", partition.value());
}

std::string ChangelogOffsetKey(absl::string_view topic, PartitionId partition) {
  return absl::StrCat(kChangelogPrefix, topic, "/", partition.value());
}

bool InStoreNamespace(absl::string_view key) {
  return absl::StartsWith(key, kOffsetPrefix) || absl::StartsWith(key, kMetaPrefix) ||
         absl::StartsWith(key, kChangelogPrefix);
}

rocksdb::Options MakeOptions(rocksdb::Env* env) {
  rocksdb::Options options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  // RocksDB's info log goes to stderr (warnings and errors only), not to a
  // LOG file beside the state: see RocksDbStderrLogger for why.
  options.info_log = std::make_shared<RocksDbStderrLogger>();
  // A daemon sharing the machine: bounded files and threads.
  options.max_open_files = 256;
  // No preallocation of WAL and SST space: on a nearly full disk writes fail
  // when the space is really gone, not early on a reservation.
  options.allow_fallocate = false;
  options.max_background_jobs = 2;
  // Compression: zstd on the bottommost level and LZ4 above when built in.
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType t) {
    return std::find(supported.begin(), supported.end(), t) != supported.end();
  };
  if (has(rocksdb::kLZ4Compression)) {
    options.compression = rocksdb::kLZ4Compression;
  } else if (has(rocksdb::kSnappyCompression)) {
    options.compression = rocksdb::kSnappyCompression;
  }
  if (has(rocksdb::kZSTD)) options.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(64 << 20);  // 64 MiB, shared by reads and index
  table.cache_index_and_filter_blocks = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

// Refuses a path that is a file, or a non-empty directory without a RocksDB
// CURRENT file; creates a missing directory (and its parents).
absl::Status PrepareDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::UnavailableError(
        absl::StrCat("cannot inspect state dir \"", dir, "\": ", ec.message()));
  }
  if (!fs::exists(st)) {
    fs::create_directories(dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create state dir \"", dir, "\": ", ec.message()));
    }
    return absl::OkStatus();
  }
  if (!fs::is_directory(st)) {
    return absl::FailedPreconditionError(
        absl::StrCat("state dir \"", dir, "\" exists but is not a directory"));
  }
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) return absl::OkStatus();
  const bool empty = fs::is_empty(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list state dir \"", dir, "\": ", ec.message()));
  }
  if (!empty) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir \"", dir,
        "\" is not empty and holds no RocksDB database (no CURRENT file); refusing to use it. "
        "Point state.dir at an empty or new directory"));
  }
  return absl::OkStatus();
}

// Maps a failed RocksDB status from reads/opens: corruption is DataLoss,
// everything else (I/O, busy, lock held) Unavailable.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what, const std::string& dir) {
  std::string message = absl::StrCat(what, " in state dir \"", dir, "\": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(message);
  return absl::UnavailableError(message);
}

}  // namespace

StateStore::StateStore(std::string dir, rocksdb::Env* env, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), env_(env), db_(std::move(db)) {}

StateStore::~StateStore() {
  if (db_ != nullptr) {
    // Nothing to do about a failed close while shutting down; every Commit
    // was already synced.
    db_->Close().PermitUncheckedError();
  }
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir,
                                                             absl::string_view config_identity) {
  return OpenWithEnv(dir, config_identity, nullptr);
}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::OpenWithEnv(
    const std::string& dir, absl::string_view config_identity, rocksdb::Env* env) {
  if (absl::Status s = PrepareDir(dir); !s.ok()) return s;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(MakeOptions(env), dir, &raw);
  if (!s.ok()) return FromRocks(s, "cannot open RocksDB database", dir);
  std::unique_ptr<StateStore> store(new StateStore(dir, env, std::unique_ptr<rocksdb::DB>(raw)));

  std::string identity;
  s = store->db_->Get(rocksdb::ReadOptions(), ToSlice(kIdentityKey), &identity);
  if (s.IsNotFound()) {
    // A new database: record what it belongs to.
    rocksdb::WriteBatch batch;
    rocksdb::Status b = batch.Put(ToSlice(kIdentityKey), ToSlice(config_identity));
    if (b.ok()) b = batch.Put(ToSlice(kFormatVersionKey), ToSlice(kFormatVersion));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (b.ok()) b = store->db_->Write(wo, &batch);
    if (!b.ok()) return FromRocks(b, "cannot record the config identity", dir);
    store->created_ = true;
    return store;
  }
  if (!s.ok()) return FromRocks(s, "cannot read the config identity", dir);
  if (identity != config_identity) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir \"", dir, "\" holds state for config identity \"", identity, "\", not \"",
        config_identity, "\". To rebuild the state for \"", config_identity,
        "\", stop nsmd and delete \"", dir,
        "\": nsmd then recomputes it from the earliest retained offsets; or point state.dir "
        "elsewhere"));
  }
  std::string version;
  s = store->db_->Get(rocksdb::ReadOptions(), ToSlice(kFormatVersionKey), &version);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "cannot read the format version", dir);
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir \"", dir, "\" has state format version \"", version, "\"; this nsmd reads ",
        kFormatVersion,
        " only (written by a different nsmd version). To rebuild the state "
        "(README \"Rebuilding state\"), stop nsmd and delete \"",
        dir,
        "\" (or point state.dir elsewhere): nsmd then recomputes it from the earliest retained "
        "offsets"));
  }
  return store;
}

absl::Status StateStore::VerifySettings(
    const std::vector<std::pair<std::string, std::string>>& settings) {
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  rocksdb::WriteBatch missing;
  bool any_missing = false;
  std::string differences;
  for (const auto& [name, value] : settings) {
    const std::string key = absl::StrCat(kSettingPrefix, name);
    std::string stored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), &stored);
    if (s.IsNotFound()) {
      s = missing.Put(ToSlice(key), ToSlice(value));
      if (!s.ok()) return FromRocks(s, "cannot record config settings", dir_);
      any_missing = true;
      continue;
    }
    if (!s.ok()) return FromRocks(s, "cannot read config settings", dir_);
    if (stored != value) {
      absl::StrAppend(&differences, differences.empty() ? "" : "; ", name, " is \"", stored,
                      "\" in the state dir but \"", value, "\" in the config");
    }
  }
  if (!differences.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir \"", dir_, "\" was written with other settings: ", differences,
        ". Its windows cannot be reused. To rebuild the state for this config (README "
        "\"Rebuilding state\"), stop nsmd and delete \"",
        dir_,
        "\" (or point state.dir elsewhere): nsmd then recomputes it from the earliest retained "
        "offsets"));
  }
  if (!any_missing) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, &missing);
  if (!s.ok()) return FromRocks(s, "cannot record config settings", dir_);
  return absl::OkStatus();
}

absl::Status StateStore::Commit(const StateDelta& delta, const std::vector<SourceOffset>& offsets,
                                const std::vector<SourceOffset>& changelog_offsets) {
  if (delta.empty() && offsets.empty() && changelog_offsets.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  auto build_error = [&s] {
    return absl::InternalError(absl::StrCat("cannot build write batch: ", s.ToString()));
  };
  // Prefix deletions first (StateDelta's contract: an entry of the delta is
  // newer than every prefix deletion covering it), each a range tombstone.
  for (const std::string& prefix : delta.prefix_deletions()) {
    if (OverlapsStoreRows(prefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "engine prefix \"", prefix, "\" could delete the store's own rows (\"o/\", \"meta/\")"));
    }
    const std::string end = PrefixSuccessor(prefix);
    if (end.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("engine prefix \"", prefix, "\" has no successor (all 0xff)"));
    }
    s = batch.DeleteRange(ToSlice(prefix), end);
    if (!s.ok()) return build_error();
  }
  // In key order (StateDelta keeps them sorted): RocksDB's memtable inserts
  // a sorted run much faster than random keys.
  for (const auto& [key, value] : delta.entries()) {
    if (InStoreNamespace(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("engine key \"", key,
                       "\" is in the store's own namespace (\"o/\", \"c/\" or \"meta/\")"));
    }
    s = value.has_value() ? batch.Put(ToSlice(key), ToSlice(*value)) : batch.Delete(ToSlice(key));
    if (!s.ok()) return build_error();
  }
  for (const SourceOffset& o : offsets) {
    s = batch.Put(ToSlice(OffsetKey(o.topic, o.partition)),
                  ToSlice(absl::StrCat(o.next_offset.value())));
    if (!s.ok()) return build_error();
  }
  for (const SourceOffset& o : changelog_offsets) {
    s = batch.Put(ToSlice(ChangelogOffsetKey(o.topic, o.partition)),
                  ToSlice(absl::StrCat(o.next_offset.value())));
    if (!s.ok()) return build_error();
  }
  if (needs_resume_) {
    // After a failed write RocksDB holds a background error (and may be
    // stuck recovering while the disk is still full). Reopening replays the
    // WAL up to the last complete write, the same as after a crash, and
    // clears the error once the disk takes writes again. A reopen that
    // fails leaves db_ null and needs_resume_ set: the next Commit() tries
    // again (the caller backs off between attempts).
    if (db_ != nullptr) {
      db_->Close().PermitUncheckedError();
      db_.reset();
    }
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::Open(MakeOptions(env_), dir_, &raw);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("state dir \"", dir_, "\" is still failing writes: ", s.ToString()));
    }
    db_.reset(raw);
    needs_resume_ = false;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Write(wo, &batch);
  if (!s.ok()) {
    needs_resume_ = true;
    return absl::UnavailableError(
        absl::StrCat("cannot commit checkpoint to state dir \"", dir_, "\": ", s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status StateStore::ScanEngineState(
    const std::function<absl::Status(absl::string_view key, absl::string_view value)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // a one-off bulk read at startup
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  // Keys are bytewise ordered, so each store namespace is one contiguous run:
  // skip it with a single Seek past its end.
  const std::string after_meta = PrefixSuccessor(kMetaPrefix);
  const std::string after_offsets = PrefixSuccessor(kOffsetPrefix);
  const std::string after_changelog = PrefixSuccessor(kChangelogPrefix);
  it->SeekToFirst();
  while (it->Valid()) {
    const absl::string_view key = ToView(it->key());
    if (absl::StartsWith(key, kChangelogPrefix)) {
      it->Seek(after_changelog);
      continue;
    }
    if (absl::StartsWith(key, kMetaPrefix)) {
      it->Seek(after_meta);
      continue;
    }
    if (absl::StartsWith(key, kOffsetPrefix)) {
      it->Seek(after_offsets);
      continue;
    }
    if (absl::Status st = fn(key, ToView(it->value())); !st.ok()) return st;
    it->Next();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "cannot scan engine state", dir_);
  return absl::OkStatus();
}

absl::Status StateStore::ScanEngineStateUnder(
    absl::string_view prefix,
    const std::function<absl::Status(absl::string_view key, absl::string_view value)>& fn) const {
  if (prefix.empty() || InStoreNamespace(prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", prefix, "\" is not a prefix of engine state"));
  }
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  const std::string upper = PrefixSuccessor(prefix);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // read once, when a task is assigned
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    if (absl::Status st = fn(key.substr(prefix.size()), ToView(it->value())); !st.ok()) return st;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "cannot scan engine state", dir_);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SourceOffset>> StateStore::LoadOffsets() const {
  const std::string upper = PrefixSuccessor(kOffsetPrefix);
  const rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  std::vector<SourceOffset> out;
  for (it->Seek(ToSlice(kOffsetPrefix)); it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    const absl::string_view rest = key.substr(kOffsetPrefix.size());
    const size_t slash = rest.rfind('/');
    int32_t partition = 0;
    int64_t next_offset = 0;
    if (slash == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(slash + 1), &partition) ||
        !absl::SimpleAtoi(ToView(it->value()), &next_offset)) {
      return absl::DataLossError(absl::StrCat("malformed offset row \"", key, "\" = \"",
                                              ToView(it->value()), "\" in state dir \"", dir_,
                                              "\""));
    }
    out.push_back(SourceOffset{std::string(rest.substr(0, slash)), PartitionId(partition),
                               KafkaOffset(next_offset)});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "cannot read offsets", dir_);
  return out;
}

absl::StatusOr<std::optional<KafkaOffset>> StateStore::ChangelogOffset(
    absl::string_view topic, PartitionId partition) const {
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  const std::string key = ChangelogOffsetKey(topic, partition);
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<KafkaOffset>();
  if (!s.ok()) return FromRocks(s, "cannot read a changelog offset", dir_);
  int64_t offset = 0;
  if (!absl::SimpleAtoi(value, &offset)) {
    return absl::DataLossError(absl::StrCat("malformed changelog offset row \"", key, "\" = \"",
                                            value, "\" in state dir \"", dir_, "\""));
  }
  return std::optional<KafkaOffset>(KafkaOffset(offset));
}

absl::Status StateStore::ForgetTask(absl::string_view prefix, absl::string_view topic,
                                    PartitionId partition) {
  if (OverlapsStoreRows(prefix) || PrefixSuccessor(prefix).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", prefix, "\" is no task prefix"));
  }
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.DeleteRange(ToSlice(prefix), PrefixSuccessor(prefix));
  if (s.ok()) s = batch.Delete(ToSlice(OffsetKey(topic, partition)));
  if (s.ok()) s = batch.Delete(ToSlice(ChangelogOffsetKey(topic, partition)));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (s.ok()) s = db_->Write(wo, &batch);
  if (!s.ok()) {
    needs_resume_ = true;
    return absl::UnavailableError(absl::StrCat("cannot delete the rows of task \"", prefix,
                                               "\" in state dir \"", dir_, "\": ", s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status StateStore::DeletePrefix(absl::string_view prefix) {
  return DeletePrefixes({std::string(prefix)});
}

absl::Status StateStore::DeletePrefixes(const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (OverlapsStoreRows(prefix)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "prefix \"", prefix, "\" would delete the store's own rows (\"o/\", \"meta/\")"));
    }
  }
  if (prefixes.empty()) return absl::OkStatus();
  if (db_ == nullptr) return absl::UnavailableError("the state store is being reopened");
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (const std::string& prefix : prefixes) {
    const std::string end = PrefixSuccessor(prefix);
    if (!end.empty()) {
      s = batch.DeleteRange(ToSlice(prefix), end);
    } else {
      // An all-0xff prefix has no successor: delete its keys one by one.
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      for (it->Seek(ToSlice(prefix));
           s.ok() && it->Valid() && it->key().starts_with(ToSlice(prefix)); it->Next()) {
        s = batch.Delete(it->key());
      }
      if (s.ok()) s = it->status();
    }
    if (!s.ok()) break;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (s.ok()) s = db_->Write(wo, &batch);
  if (!s.ok()) {
    needs_resume_ = true;  // as after a failed Commit: the next one reopens
    return absl::UnavailableError(absl::StrCat("cannot delete prefix \"", prefixes.front(),
                                               prefixes.size() > 1 ? "\" (and others)" : "\"",
                                               " in state dir \"", dir_, "\": ", s.ToString()));
  }
  return absl::OkStatus();
}

uint64_t StateStore::IntProperty(const std::string& name) const {
  uint64_t value = 0;
  if (db_ == nullptr || !db_->GetIntProperty(name, &value)) return 0;
  return value;
}

uint64_t StateStore::ApproximateSizeBytes() const {
  // SST files on disk plus what the memtables hold (mirrored by the WAL).
  return IntProperty(rocksdb::DB::Properties::kTotalSstFilesSize) +
         IntProperty(rocksdb::DB::Properties::kSizeAllMemTables);
}

StateStore::MemoryUsage StateStore::Memory() const {
  return MemoryUsage{
      .memtables = IntProperty(rocksdb::DB::Properties::kSizeAllMemTables),
      .block_cache = IntProperty(rocksdb::DB::Properties::kBlockCacheUsage),
      .table_readers = IntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem),
  };
}

}  // namespace nsmd
