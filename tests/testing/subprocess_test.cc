// Subprocess: a child dies with the process that started it, even when that
// process never gets to destroy the Subprocess (killed by a ctest timeout,
// crashed), so no `nsmd broker` or `nsmd run` outlives its test.
#include "tests/testing/subprocess.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace nsmd::testing {
namespace {

TEST(SubprocessTest, ChildIsKilledWhenTheProcessThatStartedItDies) {
  // Orphans are re-parented to this process, so it can wait for the
  // grandchild and see how it ended.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t middle = fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    // The "test process": starts a child that would run for 30 s, reports
    // its pid once it runs (it printed "ready"), then waits to be killed
    // without destroying the Subprocess.
    close(fds[0]);
    auto child = Subprocess::Start({"/bin/sh", "-c", "echo ready; exec sleep 30"});
    const bool ready = child.ok() && (*child)->ReadLine(absl::Seconds(10)).value_or("") == "ready";
    const pid_t pid = ready ? (*child)->pid() : -1;
    if (write(fds[1], &pid, sizeof pid) != sizeof pid) _exit(1);
    while (true) pause();
  }
  close(fds[1]);
  pid_t child = -1;
  ASSERT_EQ(read(fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  close(fds[0]);
  ASSERT_GT(child, 0);

  ASSERT_EQ(kill(middle, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(middle, &status, 0), middle);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

  // The child gets SIGKILL as its parent dies; without that it would sleep
  // on for 30 s. 10 s is only a bound for a failing run.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  pid_t reaped = 0;
  while (reaped == 0 && absl::Now() < deadline) {
    reaped = waitpid(child, &status, WNOHANG);
    if (reaped == 0) absl::SleepFor(absl::Milliseconds(20));
  }
  if (reaped == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    FAIL() << "child " << child << " outlived the process that started it";
  }
  ASSERT_EQ(reaped, child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
}

}  // namespace
}  // namespace nsmd::testing
