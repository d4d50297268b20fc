// EXPECT_OK / ASSERT_OK: assertions on an absl::Status or absl::StatusOr<T>
// (or any status with ok() and ToString(), e.g. rocksdb::Status)
// that print the status when it is not OK, where ASSERT_TRUE(s.ok()) prints
// only "false". Extra context streams as with any assertion:
//   ASSERT_OK(store->Commit(delta, {})) << "after " << n << " commits";
#ifndef NSMD_TESTS_TESTING_STATUS_MATCHERS_H_
#define NSMD_TESTS_TESTING_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace nsmd::testing::internal {

inline ::testing::AssertionResult IsOk(const char* expr, const absl::Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " is not OK: " << status;
}

template <typename T>
::testing::AssertionResult IsOk(const char* expr, const absl::StatusOr<T>& status_or) {
  return IsOk(expr, status_or.status());
}

// Any other status type with ok() and ToString() (e.g. rocksdb::Status).
template <typename S>
::testing::AssertionResult IsOk(const char* expr, const S& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << expr << " is not OK: " << status.ToString();
}

}  // namespace nsmd::testing::internal

#define EXPECT_OK(expr) EXPECT_PRED_FORMAT1(::nsmd::testing::internal::IsOk, expr)
#define ASSERT_OK(expr) ASSERT_PRED_FORMAT1(::nsmd::testing::internal::IsOk, expr)

#endif  // NSMD_TESTS_TESTING_STATUS_MATCHERS_H_
