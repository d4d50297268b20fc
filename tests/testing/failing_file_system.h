// FailingFileSystem: a RocksDB file system whose writes fail on demand, as
// on a full disk (for fault tests of the state store and its callers).
#ifndef NSMD_TESTS_TESTING_FAILING_FILE_SYSTEM_H_
#define NSMD_TESTS_TESTING_FAILING_FILE_SYSTEM_H_

#include <atomic>
#include <memory>
#include <string>

#include "rocksdb/file_system.h"

namespace nsmd {
namespace testing {

// The default file system, except that while `fail` is set every write
// (appending, syncing) fails with "no space", as on a full disk. As there,
// files can still be created (an inode, no data): RocksDB's reopen gets as
// far as writing to them. Files opened before the switch fail too.
class FailingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FailingFileSystem() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FailingFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, options, &file, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(file), &fail);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->ReopenWritableFile(f, options, &file, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(file), &fail);
    return s;
  }

  std::atomic<bool> fail{false};

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> t, const std::atomic<bool>* fail)
        : rocksdb::FSWritableFileOwnerWrapper(std::move(t)), fail_(fail) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (*fail_) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info,
                             rocksdb::IODebugContext* dbg) override {
      if (*fail_) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
      if (*fail_) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                            rocksdb::IODebugContext* dbg) override {
      if (*fail_) return rocksdb::IOStatus::NoSpace("injected: no space left");
      return target()->Fsync(options, dbg);
    }

   private:
    const std::atomic<bool>* fail_;
  };
};

}  // namespace testing
}  // namespace nsmd

#endif  // NSMD_TESTS_TESTING_FAILING_FILE_SYSTEM_H_
