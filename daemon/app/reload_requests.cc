#include "daemon/app/reload_requests.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace nsmd {

absl::Status ReloadRequests::RequestAndWait(const std::function<void()>& wake) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("nsmd is stopping");
  const uint64_t ticket = ++tickets_;
  wake();
  const absl::Time deadline = absl::Now() + timeout_;
  while (done_ < ticket && !stopping_) {
    if (cv_.WaitWithDeadline(&mu_, deadline) && done_ < ticket) {
      return absl::DeadlineExceededError(
          absl::StrCat("the reload did not finish within ", absl::FormatDuration(timeout_)));
    }
  }
  if (done_ < ticket) return absl::UnavailableError("nsmd is stopping");
  return result_;
}

void ReloadRequests::Run(const std::function<absl::Status()>& reload) {
  uint64_t ticket;
  {
    absl::MutexLock lock(&mu_);
    ticket = tickets_;
  }
  absl::Status s = reload();
  absl::MutexLock lock(&mu_);
  done_ = ticket;
  result_ = std::move(s);
  cv_.SignalAll();
}

void ReloadRequests::Stop() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  cv_.SignalAll();
}

}  // namespace nsmd
