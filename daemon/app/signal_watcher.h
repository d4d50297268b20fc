// SignalWatcher: SIGTERM/SIGINT and SIGHUP as flags the pipeline thread polls.
#ifndef NSMD_DAEMON_APP_SIGNAL_WATCHER_H_
#define NSMD_DAEMON_APP_SIGNAL_WATCHER_H_

#include <signal.h>

#include <atomic>
#include <thread>

namespace nsmd {

// Turns SIGTERM/SIGINT into stop_requested and SIGHUP into reload_requested.
// The constructor blocks the three signals in the calling thread, so it must
// run before any other thread starts (they inherit the mask); Start() takes
// them on a thread of its own with sigtimedwait, so no handler runs
// asynchronously. The flags are read and reset by any thread.
class SignalWatcher {
 public:
  SignalWatcher();
  // Stops and joins the thread (within 200 ms).
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Starts taking the signals.
  void Start();

  std::atomic<bool> stop_requested{false};
  std::atomic<bool> reload_requested{false};

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_SIGNAL_WATCHER_H_
