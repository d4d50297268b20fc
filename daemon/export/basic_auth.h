// BasicAuth: checks HTTP basic-auth credentials against bcrypt hashes.
#ifndef NSMD_DAEMON_EXPORT_BASIC_AUTH_H_
#define NSMD_DAEMON_EXPORT_BASIC_AUTH_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace nsmd {

// A fixed set of users, each with a bcrypt hash ($2a$, $2b$ or $2y$, as
// `htpasswd -nB` writes them), checked with libcrypt's crypt_r.
//
// bcrypt costs tens of milliseconds by design, and a scraper sends the same
// credentials every scrape: a password that matched is remembered (per user,
// the last one) and compared in constant time afterwards, as the Prometheus
// exporter toolkit does. Wrong passwords always pay the full bcrypt cost.
//
// Thread-safe.
class BasicAuth {
 public:
  // `users`: user name -> hash. Errors: InvalidArgument naming the user
  // whose hash is not a bcrypt hash libcrypt accepts.
  static absl::StatusOr<std::unique_ptr<BasicAuth>> Create(
      std::map<std::string, std::string> users);

  // True if `user` exists and `password` matches its hash.
  bool Check(absl::string_view user, absl::string_view password) const;

 private:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  const std::map<std::string, std::string> users_;
  mutable absl::Mutex mu_;
  // user -> the last password that matched its hash.
  mutable std::map<std::string, std::string, std::less<>> verified_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_BASIC_AUTH_H_
