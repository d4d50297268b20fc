#include "daemon/app/signal_watcher.h"

#include <pthread.h>

#include <ctime>

namespace nsmd {

SignalWatcher::SignalWatcher() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

void SignalWatcher::Start() {
  thread_ = std::thread([this] {
    timespec timeout{0, 200 * 1000 * 1000};
    while (!done_) {
      int sig = sigtimedwait(&set_, nullptr, &timeout);
      if (sig == SIGHUP) reload_requested = true;
      if (sig == SIGTERM || sig == SIGINT) stop_requested = true;
    }
  });
}

}  // namespace nsmd
