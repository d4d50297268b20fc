// RocksDbStderrLogger: RocksDB's info log, sent to nsmd's stderr.
#ifndef NSMD_DAEMON_STATE_ROCKSDB_STDERR_LOGGER_H_
#define NSMD_DAEMON_STATE_ROCKSDB_STDERR_LOGGER_H_

#include <cstdarg>

#include "rocksdb/env.h"

namespace nsmd {

// A rocksdb::Logger that writes RocksDB's warnings and errors to stderr as
// "nsmd: rocksdb <level>: <message>" lines, next to nsmd's own, and drops
// its info and debug chatter (and the header of build facts and options).
//
// Why not RocksDB's own LOG file in the state dir: that file shares the
// state's disk, and RocksDB 7.8 (Debian's build keeps its assertions) aborts
// the process on the second write to a log file whose first write failed,
// which is what a full disk does to it while nsmd reopens the database to
// retry a checkpoint. Writes to stderr do not fail that way.
//
// Thread-safe: RocksDB logs from its background threads too; each line is
// one fprintf, which stdio locks.
class RocksDbStderrLogger : public rocksdb::Logger {
 public:
  // Logs `WARN_LEVEL` and above.
  RocksDbStderrLogger();

  // Writes one line if `level` is at least GetInfoLogLevel() (HEADER_LEVEL
  // lines, which RocksDB writes once per open, are dropped).
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;

  // The level-less form RocksDB uses for the oldest call sites: treated as
  // INFO_LEVEL.
  void Logv(const char* format, va_list ap) override;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_STATE_ROCKSDB_STDERR_LOGGER_H_
