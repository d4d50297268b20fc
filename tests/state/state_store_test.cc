// Tests for StateStore against a real RocksDB database in a temp dir.
#include "daemon/state/state_store.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/testing/failing_file_system.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

using ::nsmd::testing::FailingFileSystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using KeyValues = std::vector<std::pair<std::string, std::string>>;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "state_store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/nested/state";  // Open creates missing parents too
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::unique_ptr<StateStore> MustOpen(absl::string_view identity = "group-a") {
    absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir_, identity);
    EXPECT_OK(store);
    return store.ok() ? std::move(*store) : nullptr;
  }

  static KeyValues Scan(const StateStore& store) {
    KeyValues out;
    absl::Status s = store.ScanEngineState([&](absl::string_view k, absl::string_view v) {
      out.emplace_back(std::string(k), std::string(v));
      return absl::OkStatus();
    });
    EXPECT_OK(s);
    return out;
  }

  static std::vector<SourceOffset> Offsets(const StateStore& store) {
    absl::StatusOr<std::vector<SourceOffset>> offsets = store.LoadOffsets();
    EXPECT_OK(offsets);
    return offsets.ok() ? *offsets : std::vector<SourceOffset>{};
  }

  std::string root_;
  std::string dir_;
};

TEST_F(StateStoreTest, CommitThenReopenReadsBackExactly) {
  {
    std::unique_ptr<StateStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->dir(), dir_);
    EXPECT_THAT(Scan(*store), ElementsAre());
    EXPECT_THAT(Offsets(*store), ElementsAre());
    StateDelta delta;
    delta.Put("m/wau/f1/c\0x", "12");
    delta.Put(std::string("m/wau/f1/d\0w1\0u1", 16), "");  // NULs are ordinary bytes
    delta.Put("s/kafka", "1711848600000");
    delta.Put("x/msg-1", "1711848600000");
    ASSERT_OK(store->Commit(delta, {{"events", PartitionId(3), KafkaOffset(7)},
                                    {"events", PartitionId(0), KafkaOffset(42)},
                                    {"team/events", PartitionId(12), KafkaOffset(100)}}));
  }
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  // Bytewise key order: "m/..." < "s/..." < "x/..."; within "m/wau/f1/",
  // 'c' (0x63) < 'd' (0x64). "m/wau/f1/c\0x" as a C string is "m/wau/f1/c".
  EXPECT_THAT(Scan(*store),
              ElementsAre(Pair("m/wau/f1/c", "12"), Pair(std::string("m/wau/f1/d\0w1\0u1", 16), ""),
                          Pair("s/kafka", "1711848600000"), Pair("x/msg-1", "1711848600000")));
  // Offset rows in key order: "o/events/0" < "o/events/3" < "o/team/events/12";
  // the topic keeps its '/'.
  EXPECT_THAT(Offsets(*store),
              ElementsAre(SourceOffset{"events", PartitionId(0), KafkaOffset(42)},
                          SourceOffset{"events", PartitionId(3), KafkaOffset(7)},
                          SourceOffset{"team/events", PartitionId(12), KafkaOffset(100)}));
}

TEST_F(StateStoreTest, LaterCommitsOverwriteAndDelete) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta first;
  first.Put("m/a", "1");
  first.Put("m/b", "2");
  first.Put("m/c", "3");
  ASSERT_OK(store->Commit(first, {{"events", PartitionId(0), KafkaOffset(10)}}));
  StateDelta second;
  second.Delete("m/a");
  second.Put("m/b", "20");
  second.Delete("m/never-written");  // deleting an absent key is not an error
  ASSERT_OK(store->Commit(second, {{"events", PartitionId(0), KafkaOffset(15)}}));
  EXPECT_THAT(Scan(*store), ElementsAre(Pair("m/b", "20"), Pair("m/c", "3")));
  EXPECT_THAT(Offsets(*store),
              ElementsAre(SourceOffset{"events", PartitionId(0), KafkaOffset(15)}));
}

TEST_F(StateStoreTest, LastWriteInADeltaWins) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta seed;
  seed.Put("m/deleted-then-put", "old");
  ASSERT_OK(store->Commit(seed, {}));
  StateDelta delta;
  delta.Put("m/put-twice", "1");
  delta.Put("m/put-twice", "2");
  delta.Put("m/put-then-deleted", "x");
  delta.Delete("m/put-then-deleted");
  delta.Delete("m/deleted-then-put");
  delta.Put("m/deleted-then-put", "new");
  ASSERT_OK(store->Commit(delta, {}));
  EXPECT_THAT(Scan(*store),
              ElementsAre(Pair("m/deleted-then-put", "new"), Pair("m/put-twice", "2")));
}

TEST_F(StateStoreTest, IdentityMismatchIsRefusedWithHowToRebuild) {
  ASSERT_NE(MustOpen("group-a"), nullptr);
  absl::StatusOr<std::unique_ptr<StateStore>> other = StateStore::Open(dir_, "group-b");
  ASSERT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(other.status().message(),
            absl::StrCat("state dir \"", dir_,
                         "\" holds state for config identity \"group-a\", not \"group-b\". To "
                         "rebuild the state for \"group-b\", stop nsmd and delete \"",
                         dir_,
                         "\": nsmd then recomputes it from the earliest retained offsets; or "
                         "point state.dir elsewhere"));
  // The refusal changed nothing: the original identity still opens.
  EXPECT_NE(MustOpen("group-a"), nullptr);
}

TEST_F(StateStoreTest, NonDatabaseDirIsRefused) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/notes.txt") << "not a database\n";
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir_, "group-a");
  ASSERT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(),
            absl::StrCat("state dir \"", dir_,
                         "\" is not empty and holds no RocksDB database (no CURRENT file); "
                         "refusing to use it. Point state.dir at an empty or new directory"));
  // The file is untouched and nothing was created next to it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(StateStoreTest, RegularFileIsRefused) {
  std::filesystem::create_directories(root_ + "/nested");
  std::ofstream(dir_) << "x";
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir_, "group-a");
  ASSERT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("is not a directory"));
}

TEST_F(StateStoreTest, EmptyExistingDirIsUsed) {
  std::filesystem::create_directories(dir_);
  EXPECT_NE(MustOpen(), nullptr);
}

TEST_F(StateStoreTest, CorruptManifestIsDataLoss) {
  ASSERT_NE(MustOpen(), nullptr);
  // CURRENT names the live MANIFEST; overwrite that with garbage.
  std::string current;
  std::getline(std::ifstream(dir_ + "/CURRENT"), current);
  ASSERT_THAT(current, HasSubstr("MANIFEST-"));
  std::ofstream(dir_ + "/" + current, std::ios::trunc) << std::string(4096, '\x5a');
  absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir_, "group-a");
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(dir_));
  EXPECT_THAT(store.status().message(), HasSubstr("Corruption"));
}

TEST_F(StateStoreTest, SecondOpenWhileOpenIsUnavailable) {
  std::unique_ptr<StateStore> first = MustOpen();
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<StateStore>> second = StateStore::Open(dir_, "group-a");
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("LOCK"));
}

TEST_F(StateStoreTest, DeletePrefixRemovesExactlyThePrefixedKeys) {
  {
    std::unique_ptr<StateStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    StateDelta delta;
    for (const char* key : {"m/a/1", "m/a/2", "m/a/", "m/a", "m/ab/1", "m/b/1", "s/x", "x/1"}) {
      delta.Put(key, "v");
    }
    ASSERT_OK(store->Commit(delta, {{"events", PartitionId(0), KafkaOffset(5)}}));
    ASSERT_OK(store->DeletePrefix("m/a/"));
    // "m/a" and "m/ab/1" do not start with "m/a/".
    EXPECT_THAT(Scan(*store), ElementsAre(Pair("m/a", "v"), Pair("m/ab/1", "v"), Pair("m/b/1", "v"),
                                          Pair("s/x", "v"), Pair("x/1", "v")));
    // A prefix with no keys is fine.
    EXPECT_OK(store->DeletePrefix("m/zzz/"));
  }
  // Durable across a reopen, and offsets/identity untouched.
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  EXPECT_THAT(Scan(*store), ElementsAre(Pair("m/a", "v"), Pair("m/ab/1", "v"), Pair("m/b/1", "v"),
                                        Pair("s/x", "v"), Pair("x/1", "v")));
  EXPECT_THAT(Offsets(*store), ElementsAre(SourceOffset{"events", PartitionId(0), KafkaOffset(5)}));
}

TEST_F(StateStoreTest, DeletePrefixWithoutSuccessor) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta delta;
  delta.Put("\xff\xff", "a");
  delta.Put("\xff\xff\x01", "b");
  delta.Put("\xff\xfe", "c");
  ASSERT_OK(store->Commit(delta, {}));
  // "\xff\xff" has no successor string: keys are deleted one by one.
  ASSERT_OK(store->DeletePrefix("\xff\xff"));
  EXPECT_THAT(Scan(*store), ElementsAre(Pair("\xff\xfe", "c")));
}

TEST_F(StateStoreTest, StoreNamespacesAreProtected) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit({}, {{"events", PartitionId(1), KafkaOffset(9)}}));
  for (const char* prefix : {"", "o", "o/", "o/events", "m", "me", "meta/", "meta/identity"}) {
    EXPECT_EQ(store->DeletePrefix(prefix).code(), absl::StatusCode::kInvalidArgument) << prefix;
  }
  StateDelta bad;
  bad.Put("m/fine", "1");
  bad.Put("o/events/1", "0");
  EXPECT_EQ(store->Commit(bad, {}).code(), absl::StatusCode::kInvalidArgument);
  StateDelta bad_meta;
  bad_meta.Delete("meta/identity");
  EXPECT_EQ(store->Commit(bad_meta, {}).code(), absl::StatusCode::kInvalidArgument);
  // Refused batches wrote nothing.
  EXPECT_THAT(Scan(*store), ElementsAre());
  EXPECT_THAT(Offsets(*store), ElementsAre(SourceOffset{"events", PartitionId(1), KafkaOffset(9)}));
}

TEST_F(StateStoreTest, ScanSkipsOffsetsAndMetadata) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta delta;
  // Engine keys on both sides of "meta/" and "o/" in key order:
  // "a/" < "m/" < "meta/" < "n/" < "o/" < "p/" < "s/" < "x/".
  for (const char* key : {"a/1", "m/1", "n/1", "p/1", "s/1", "x/1"}) delta.Put(key, key);
  ASSERT_OK(store->Commit(delta, {{"events", PartitionId(0), KafkaOffset(1)},
                                  {"events", PartitionId(1), KafkaOffset(2)}}));
  EXPECT_THAT(Scan(*store),
              ElementsAre(Pair("a/1", "a/1"), Pair("m/1", "m/1"), Pair("n/1", "n/1"),
                          Pair("p/1", "p/1"), Pair("s/1", "s/1"), Pair("x/1", "x/1")));
}

TEST_F(StateStoreTest, ScanStopsAtTheFirstError) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta delta;
  delta.Put("m/1", "1");
  delta.Put("m/2", "2");
  ASSERT_OK(store->Commit(delta, {}));
  int calls = 0;
  absl::Status s = store->ScanEngineState([&](absl::string_view, absl::string_view) {
    ++calls;
    return absl::DataLossError("bad row");
  });
  EXPECT_EQ(s, absl::DataLossError("bad row"));
  EXPECT_EQ(calls, 1);
}

TEST_F(StateStoreTest, ApproximateSizeCountsCommittedBytes) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  // 1000 values of 100 pseudo-random bytes: at least 100000 bytes live in the
  // memtable (or SST files), whatever the compression.
  StateDelta delta;
  uint32_t x = 12345;
  for (int i = 0; i < 1000; ++i) {
    std::string value(100, '\0');
    for (char& c : value) {
      x = x * 1103515245u + 12345u;
      c = static_cast<char>(x >> 24);
    }
    delta.Put(absl::StrCat("m/k/", i), value);
  }
  ASSERT_OK(store->Commit(delta, {}));
  EXPECT_GE(store->ApproximateSizeBytes(), 100000u);
  // The same bytes are in the memtable (no flush yet: 64 MiB buffer), not
  // in the block cache (no read; it holds only what opening read, 88 bytes
  // here).
  const StateStore::MemoryUsage memory = store->Memory();
  EXPECT_GE(memory.memtables, 100000u);
  EXPECT_LT(memory.memtables, 64u << 20);
  EXPECT_LT(memory.block_cache, 4096u);
}

TEST_F(StateStoreTest, FailedReopenAfterFailedWriteIsRetriedNotACrash) {
  // A disk that stays full across the reopen a failed write triggers: the
  // reopen fails too, and the next Commit() used to dereference the null DB.
  auto fs = std::make_shared<FailingFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  {
    absl::StatusOr<std::unique_ptr<StateStore>> opened =
        StateStore::OpenWithEnv(dir_, "group-a", env.get());
    ASSERT_OK(opened);
    StateStore& store = **opened;
    StateDelta first;
    first.Put("m/a", "1");
    ASSERT_OK(store.Commit(first, {{"events", PartitionId(0), KafkaOffset(10)}}));

    fs->fail = true;
    StateDelta lost;
    lost.Put("m/b", "2");
    // 1: the WAL write fails; 2: the reopen fails; 3 and 4: the reopen is
    // tried again (and fails) instead of crashing.
    for (int attempt = 1; attempt <= 4; ++attempt) {
      absl::Status s = store.Commit(lost, {{"events", PartitionId(0), KafkaOffset(20)}});
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << "attempt " << attempt << ": " << s;
      EXPECT_THAT(s.message(), HasSubstr(dir_));
    }
    // While closed, reads say so rather than crash.
    EXPECT_EQ(store.LoadOffsets().status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(
        store.ScanEngineState([](absl::string_view, absl::string_view) { return absl::OkStatus(); })
            .code(),
        absl::StatusCode::kUnavailable);
    EXPECT_EQ(store.DeletePrefix("m/").code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(store.ApproximateSizeBytes(), 0u);
    EXPECT_EQ(store.Memory().memtables, 0u);

    // The disk takes writes again: the retry reopens and commits.
    fs->fail = false;
    StateDelta retried;
    retried.Put("m/c", "3");
    absl::Status s = store.Commit(retried, {{"events", PartitionId(0), KafkaOffset(30)}});
    ASSERT_OK(s);
    // Only the successful commits are there: m/a (first) and m/c (retry);
    // m/b was never written.
    EXPECT_THAT(Scan(store), ElementsAre(Pair("m/a", "1"), Pair("m/c", "3")));
    std::vector<SourceOffset> offsets = Offsets(store);
    ASSERT_EQ(offsets.size(), 1u);
    EXPECT_EQ(offsets[0].next_offset, KafkaOffset(30));
  }
  // And it is all durable: a plain reopen (default Env) reads the same.
  std::unique_ptr<StateStore> again = MustOpen();
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(Scan(*again), ElementsAre(Pair("m/a", "1"), Pair("m/c", "3")));
}

TEST_F(StateStoreTest, RocksDbWritesNoLogFileIntoTheStateDir) {
  // RocksDB's info log goes to stderr: a LOG file on the state's disk is one
  // more file a full disk fails, and RocksDB 7.8 aborts on the second write
  // to a log file whose first write failed.
  {
    std::unique_ptr<StateStore> store = MustOpen();
    ASSERT_NE(store, nullptr);
    StateDelta delta;
    delta.Put("m/a", "1");
    ASSERT_OK(store->Commit(delta, {{"events", PartitionId(0), KafkaOffset(1)}}));
  }
  std::unique_ptr<StateStore> again = MustOpen();
  ASSERT_NE(again, nullptr);
  std::vector<std::string> logs;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "LOG")) logs.push_back(name);
  }
  EXPECT_THAT(logs, ElementsAre());
}

TEST_F(StateStoreTest, StoreClosedByAFailedReopenIsDestroyedCleanly) {
  auto fs = std::make_shared<FailingFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  absl::StatusOr<std::unique_ptr<StateStore>> opened =
      StateStore::OpenWithEnv(dir_, "group-a", env.get());
  ASSERT_OK(opened);
  fs->fail = true;
  StateDelta delta;
  delta.Put("m/a", "1");
  EXPECT_EQ((*opened)->Commit(delta, {}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*opened)->Commit(delta, {}).code(), absl::StatusCode::kUnavailable);
  opened->reset();  // db_ is null here: the destructor must not touch it
  fs->fail = false;
  std::unique_ptr<StateStore> again = MustOpen();
  ASSERT_NE(again, nullptr);
  EXPECT_THAT(Scan(*again), ElementsAre());
}

}  // namespace
}  // namespace nsmd

namespace nsmd {
namespace {

// StateDelta's prefix semantics (no store involved): a prefix deletion drops
// entries put before it under the prefix and keeps later ones; Absorb treats
// the absorbed delta as the newer one.
TEST(StateDeltaTest, PrefixDeletionDropsEarlierEntriesAndKeepsLaterOnes) {
  StateDelta delta;
  delta.Put("m/a/1", "old");
  delta.Put("m/ab", "x");  // not under "m/a/"
  delta.Delete("m/a/2");
  delta.DeletePrefix("m/a/");
  delta.Put("m/a/3", "new");
  // Left: "m/ab" (outside) and "m/a/3" (after the deletion), in key order.
  std::vector<std::pair<std::string, std::optional<std::string>>> entries(delta.entries().begin(),
                                                                          delta.entries().end());
  EXPECT_THAT(entries, ElementsAre(Pair("m/a/3", std::optional<std::string>("new")),
                                   Pair("m/ab", std::optional<std::string>("x"))));
  EXPECT_THAT(delta.prefix_deletions(), ElementsAre("m/a/"));
  EXPECT_EQ(delta.size(), 3u);  // two entries + one prefix
  EXPECT_FALSE(delta.empty());
}

TEST(StateDeltaTest, AbsorbAppliesTheNewerPrefixesToTheOlderEntries) {
  StateDelta older;
  older.Put("m/a/1", "1");
  older.Put("m/b/1", "1");
  older.DeletePrefix("m/c/");
  StateDelta newer;
  newer.Put("m/c/1", "kept");  // newer than older's prefix deletion
  newer.DeletePrefix("m/a/");  // drops older's m/a/1
  older.Absorb(&newer);
  EXPECT_TRUE(newer.empty());
  std::vector<std::pair<std::string, std::optional<std::string>>> entries(older.entries().begin(),
                                                                          older.entries().end());
  EXPECT_THAT(entries, ElementsAre(Pair("m/b/1", std::optional<std::string>("1")),
                                   Pair("m/c/1", std::optional<std::string>("kept"))));
  EXPECT_THAT(older.prefix_deletions(), ElementsAre("m/a/", "m/c/"));
  // Into an empty delta: everything moves, prefixes included.
  StateDelta empty;
  empty.Absorb(&older);
  EXPECT_TRUE(older.empty());
  EXPECT_EQ(empty.size(), 4u);
}

TEST_F(StateStoreTest, CommitAppliesPrefixDeletionsBeforeEntries) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta first;
  for (const char* key : {"m/a/1", "m/a/2", "m/a", "m/ab/1", "m/b/1"}) first.Put(key, "v");
  ASSERT_OK(store->Commit(first, {}));
  // Deletes m/a/1 and m/a/2 (stored), then writes m/a/3 (put after the
  // deletion); "m/a" and "m/ab/1" are not under "m/a/".
  StateDelta second;
  second.DeletePrefix("m/a/");
  second.Put("m/a/3", "w");
  ASSERT_OK(store->Commit(second, {{"events", PartitionId(0), KafkaOffset(7)}}));
  EXPECT_THAT(Scan(*store), ElementsAre(Pair("m/a", "v"), Pair("m/a/3", "w"), Pair("m/ab/1", "v"),
                                        Pair("m/b/1", "v")));
  EXPECT_THAT(Offsets(*store), ElementsAre(SourceOffset{"events", PartitionId(0), KafkaOffset(7)}));
}

TEST_F(StateStoreTest, CommitRefusesPrefixDeletionsOfStoreRows) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Commit({}, {{"events", PartitionId(1), KafkaOffset(9)}}));
  for (const char* prefix : {"", "o", "o/", "meta/x", "m"}) {
    StateDelta delta;
    delta.Put("m/a/1", "v");
    delta.DeletePrefix(prefix);
    absl::Status s = store->Commit(delta, {});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << prefix;
  }
  // Nothing of the refused batches was written; the offset is intact.
  EXPECT_TRUE(Scan(*store).empty());
  EXPECT_THAT(Offsets(*store), ElementsAre(SourceOffset{"events", PartitionId(1), KafkaOffset(9)}));
}

TEST_F(StateStoreTest, OldFormatVersionIsRefusedWithHowToRebuild) {
  // Version 1: a row per member (before member hashes); version 2: a row per
  // rolling member (before rolling member blobs).
  for (const char* old_version : {"1", "2"}) {
    const std::string version = old_version;
    ASSERT_NE(MustOpen(), nullptr);
    {
      rocksdb::DB* raw = nullptr;
      rocksdb::Options options;
      ASSERT_OK(rocksdb::DB::Open(options, dir_, &raw));
      std::unique_ptr<rocksdb::DB> db(raw);
      ASSERT_OK(db->Put(rocksdb::WriteOptions(), "meta/format_version", version));
      ASSERT_OK(db->Close());
    }
    absl::StatusOr<std::unique_ptr<StateStore>> store = StateStore::Open(dir_, "group-a");
    ASSERT_FALSE(store.ok()) << version;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(store.status().message(), HasSubstr("format version \"" + version + "\""));
    EXPECT_THAT(store.status().message(), HasSubstr("Rebuilding state"));
    EXPECT_THAT(store.status().message(), HasSubstr(dir_));
    std::filesystem::remove_all(dir_);  // the next version starts from a new dir
  }
}

}  // namespace
}  // namespace nsmd

namespace nsmd {
namespace {

TEST_F(StateStoreTest, ChangelogOffsetsCommitWithTheBatchAndForgetTaskDropsATask) {
  std::unique_ptr<StateStore> store = MustOpen();
  ASSERT_NE(store, nullptr);
  StateDelta delta;
  delta.Put("b/1", "b");
  delta.Put("t/e/0/m/1", "x");
  delta.Put("t/e/1/m/1", "y");
  ASSERT_OK(store->Commit(
      delta, {{"e", PartitionId(0), KafkaOffset(7)}, {"e", PartitionId(1), KafkaOffset(8)}},
      {{"e", PartitionId(0), KafkaOffset(3)}, {"e", PartitionId(1), KafkaOffset(4)}}));
  auto c = store->ChangelogOffset("e", PartitionId(0));
  ASSERT_OK(c);
  EXPECT_EQ(*c, KafkaOffset(3));
  auto none = store->ChangelogOffset("e", PartitionId(2));
  ASSERT_OK(none);
  EXPECT_EQ(*none, std::nullopt);
  // "c/" rows are the store's own: not engine state, not an engine key.
  EXPECT_THAT(Scan(*store),
              ElementsAre(Pair("b/1", "b"), Pair("t/e/0/m/1", "x"), Pair("t/e/1/m/1", "y")));
  StateDelta bad;
  bad.Put("c/e/0", "9");
  EXPECT_EQ(store->Commit(bad, {}).code(), absl::StatusCode::kInvalidArgument);

  ASSERT_OK(store->ForgetTask("t/e/0/", "e", PartitionId(0)));
  EXPECT_THAT(Scan(*store), ElementsAre(Pair("b/1", "b"), Pair("t/e/1/m/1", "y")));
  ASSERT_EQ(Offsets(*store).size(), 1u);
  EXPECT_EQ(Offsets(*store)[0].partition, PartitionId(1));
  c = store->ChangelogOffset("e", PartitionId(0));
  ASSERT_OK(c);
  EXPECT_EQ(*c, std::nullopt);
  c = store->ChangelogOffset("e", PartitionId(1));
  ASSERT_OK(c);
  EXPECT_EQ(*c, KafkaOffset(4));
  EXPECT_EQ(store->ForgetTask("o/", "e", PartitionId(1)).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nsmd
