#include "daemon/base/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::Status Check(int n, int* calls) {
  ++*calls;
  return n < 0 ? absl::OutOfRangeError("negative") : absl::OkStatus();
}

// Quarter(n) = n / 4 through two ASSIGN_OR_RETURN on one line each.
absl::StatusOr<int> Quarter(int n, int* checks) {
  RETURN_IF_ERROR(Check(n, checks));
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(const int quarter, Half(half));
  return quarter;
}

absl::StatusOr<std::unique_ptr<std::string>> Boxed(bool ok) {
  if (!ok) return absl::NotFoundError("none");
  return std::make_unique<std::string>("box");
}

absl::Status MoveOnly(bool ok, std::string* out) {
  std::unique_ptr<std::string> value;
  ASSIGN_OR_RETURN(value, Boxed(ok));  // assigns to an existing variable
  *out = *value;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ValuesPassThroughAndTheFirstErrorReturns) {
  int checks = 0;
  EXPECT_EQ(Quarter(12, &checks).value_or(-1), 3);
  EXPECT_EQ(Quarter(-4, &checks).status(), absl::OutOfRangeError("negative"));
  EXPECT_EQ(Quarter(6, &checks).status(), absl::InvalidArgumentError("odd"));  // 6/2 = 3 is odd
  EXPECT_EQ(Quarter(5, &checks).status(), absl::InvalidArgumentError("odd"));
  EXPECT_EQ(checks, 4);  // the expression is evaluated once per call
}

TEST(StatusMacrosTest, MoveOnlyValuesAreMovedOut) {
  std::string out;
  ASSERT_OK(MoveOnly(true, &out));
  EXPECT_EQ(out, "box");
  EXPECT_EQ(MoveOnly(false, &out), absl::NotFoundError("none"));
}

}  // namespace
}  // namespace nsmd
