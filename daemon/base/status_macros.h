// RETURN_IF_ERROR and ASSIGN_OR_RETURN: propagate an absl::Status or the
// error of an absl::StatusOr to the caller, in the style of Abseil's
// internal status macros.
//
// Example:
//   absl::StatusOr<Config> Load(const std::string& path) {
//     ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     RETURN_IF_ERROR(Validate(text));
//     return Parse(text);
//   }
#ifndef NSMD_DAEMON_BASE_STATUS_MACROS_H_
#define NSMD_DAEMON_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
// function if it is not OK.
#define RETURN_IF_ERROR(expr)                                       \
  do {                                                              \
    if (::absl::Status nsmd_status_ = (expr); !nsmd_status_.ok()) { \
      return nsmd_status_;                                          \
    }                                                               \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>) once; returns its status from the
// enclosing function if it is not OK, otherwise moves its value into `lhs`,
// which may declare a variable (`ASSIGN_OR_RETURN(auto x, F())`). Expands to
// more than one statement: not for an unbraced if/else branch.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  NSMD_ASSIGN_OR_RETURN_IMPL(NSMD_STATUS_MACROS_CONCAT(nsmd_statusor_, __LINE__), lhs, rexpr)

// `lhs` cannot be parenthesized (it may declare a variable), nor `statusor`
// (a name this macro declares).
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NSMD_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr)   \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)

#define NSMD_STATUS_MACROS_CONCAT(a, b) NSMD_STATUS_MACROS_CONCAT_INNER(a, b)
#define NSMD_STATUS_MACROS_CONCAT_INNER(a, b) a##b

#endif  // NSMD_DAEMON_BASE_STATUS_MACROS_H_
