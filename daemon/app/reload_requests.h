// ReloadRequests: reloads asked for over HTTP, run by the pipeline thread.
#ifndef NSMD_DAEMON_APP_RELOAD_REQUESTS_H_
#define NSMD_DAEMON_APP_RELOAD_REQUESTS_H_

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace nsmd {

// Hands POST /-/reload requests (HTTP threads) to the pipeline thread, which
// alone may reload, and their result back. Each request takes a ticket; a
// reload answers every ticket taken before it started, so requests arriving
// together share one reload. Thread-safe.
class ReloadRequests {
 public:
  // Requests wait at most `timeout` for their answer.
  explicit ReloadRequests(absl::Duration timeout) : timeout_(timeout) {}

  // Takes a ticket, calls `wake` (which must make the pipeline thread call
  // Run() soon) and waits for the result of the reload that answers it.
  // DeadlineExceeded after the timeout; Unavailable once Stop() was called.
  absl::Status RequestAndWait(const std::function<void()>& wake);

  // Runs `reload` and answers every ticket taken before it started with its
  // result (pipeline thread).
  void Run(const std::function<absl::Status()>& reload);

  // Answers requests still waiting, and any later one, with Unavailable
  // ("nsmd is stopping"), not at their timeout.
  void Stop();

 private:
  const absl::Duration timeout_;
  absl::Mutex mu_;
  uint64_t tickets_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t done_ ABSL_GUARDED_BY(mu_) = 0;  // the newest ticket a reload answered
  absl::Status result_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar cv_;  // signalled when done_ or stopping_ change
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_RELOAD_REQUESTS_H_
