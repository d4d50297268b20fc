#include "daemon/export/basic_auth.h"

#include <crypt.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "daemon/export/bcrypt_hash.h"

namespace nsmd {
namespace {

// Compares without an early exit, so the time taken does not tell how many
// leading bytes matched.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BasicAuth>> BasicAuth::Create(
    std::map<std::string, std::string> users) {
  for (const auto& [user, hash] : users) {
    if (user.empty() || user.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("basic auth user \"", user, "\": a user name is non-empty, without ':'"));
    }
    if (!IsBcryptHash(hash)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "basic auth user \"", user,
          "\": the hash is not a bcrypt hash ($2b$..., e.g. from htpasswd -nB ", user, ")"));
    }
  }
  return std::unique_ptr<BasicAuth>(new BasicAuth(std::move(users)));
}

bool BasicAuth::Check(absl::string_view user, absl::string_view password) const {
  const auto it = users_.find(std::string(user));
  if (it == users_.end()) return false;
  {
    absl::MutexLock lock(&mu_);
    const auto v = verified_.find(user);
    if (v != verified_.end() && ConstantTimeEquals(v->second, password)) return true;
  }
  // crypt_r reads a NUL-terminated password: one with a NUL cannot match.
  if (password.find('\0') != absl::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();  // about 32 KiB: not on the stack
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string pw(password);
  const char* hashed = crypt_r(pw.c_str(), it->second.c_str(), data.get());
  if (hashed == nullptr || !ConstantTimeEquals(hashed, it->second)) return false;
  absl::MutexLock lock(&mu_);
  verified_[it->first] = pw;
  return true;
}

}  // namespace nsmd
