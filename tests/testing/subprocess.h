// Subprocess: runs nsmd (or any program) as a child process in tests.
#ifndef NSMD_TESTS_TESTING_SUBPROCESS_H_
#define NSMD_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nsmd::testing {

// A child process with its stdout piped to the test (stderr is inherited,
// so its log shows in the test output). Killed with SIGKILL on destruction
// if still running, and also when the test process dies without destroying
// it (a ctest timeout, a crash): the child gets SIGKILL when the thread that
// started it exits (PR_SET_PDEATHSIG), so start children from the test's own
// thread, not from a thread that ends before the test does.
class Subprocess {
 public:
  // Starts `argv[0]` with `argv`, in this process's environment plus
  // `extra_env` ("NAME=value" each; these win over inherited ones).
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
  ~Subprocess();

  // Reads one line of stdout (without the newline), waiting up to `timeout`.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);

  // Sends `signal` to the child.
  void Signal(int signal);

  // Waits up to `timeout` for the child to exit; returns its exit status as
  // from waitpid (use WIFEXITED etc.), or DeadlineExceeded.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }

 private:
  Subprocess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}
  pid_t pid_;
  int stdout_fd_;
  bool exited_ = false;
  std::string buffer_;
};

// The path of the built nsmd binary (env NSMD_BINARY).
std::string NsmdBinary();

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

}  // namespace nsmd::testing

#endif  // NSMD_TESTS_TESTING_SUBPROCESS_H_
