#include "daemon/state/rocksdb_stderr_logger.h"

#include <cstdio>

namespace nsmd {
namespace {

const char* LevelName(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL: return "debug";
    case rocksdb::InfoLogLevel::INFO_LEVEL: return "info";
    case rocksdb::InfoLogLevel::WARN_LEVEL: return "warning";
    case rocksdb::InfoLogLevel::ERROR_LEVEL: return "error";
    case rocksdb::InfoLogLevel::FATAL_LEVEL: return "fatal";
    default: return "header";
  }
}

}  // namespace

RocksDbStderrLogger::RocksDbStderrLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

void RocksDbStderrLogger::Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
  char message[1024];
  std::vsnprintf(message, sizeof message, format, ap);  // a longer message is cut
  std::fprintf(stderr, "nsmd: rocksdb %s: %s\n", LevelName(level), message);
}

void RocksDbStderrLogger::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

}  // namespace nsmd
