#include "daemon/state/rocksdb_stderr_logger.h"

#include <string>

#include "gtest/gtest.h"
#include "rocksdb/env.h"

namespace nsmd {
namespace {

TEST(RocksDbStderrLoggerTest, WarningsAndErrorsReachStderrInfoAndHeadersDoNot) {
  RocksDbStderrLogger logger;
  testing::internal::CaptureStderr();
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, &logger, "opened %s", "db");
  rocksdb::Log(rocksdb::InfoLogLevel::DEBUG_LEVEL, &logger, "debug %d", 1);
  rocksdb::Log(rocksdb::InfoLogLevel::HEADER_LEVEL, &logger, "RocksDB version: %s", "7.8.3");
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, &logger, "Background IO error %s", "x");
  rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, &logger, "Flush failed: %d", 28);
  rocksdb::Log(&logger, "an old call site without a level");
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "nsmd: rocksdb warning: Background IO error x\n"
            "nsmd: rocksdb error: Flush failed: 28\n");
}

TEST(RocksDbStderrLoggerTest, ALongMessageIsCutNotOverrun) {
  RocksDbStderrLogger logger;
  const std::string long_text(5000, 'x');
  testing::internal::CaptureStderr();
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, &logger, "%s", long_text.c_str());
  // 1023 characters of the message (the buffer holds 1024 with its NUL).
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "nsmd: rocksdb warning: " + std::string(1023, 'x') + "\n");
}

}  // namespace
}  // namespace nsmd
