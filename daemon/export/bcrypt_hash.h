// IsBcryptHash: whether a password hash is one BasicAuth can check.
#ifndef NSMD_DAEMON_EXPORT_BCRYPT_HASH_H_
#define NSMD_DAEMON_EXPORT_BCRYPT_HASH_H_

#include <crypt.h>

#include <string>

#include "absl/strings/match.h"

namespace nsmd {

// True if `hash` is a bcrypt hash ($2a$, $2b$ or $2y$, as `htpasswd -nB`
// writes them) that libcrypt accepts. Header-only (link with -lcrypt): the
// config loader checks hashes with it too.
inline bool IsBcryptHash(const std::string& hash) {
  const bool bcrypt = absl::StartsWith(hash, "$2a$") || absl::StartsWith(hash, "$2b$") ||
                      absl::StartsWith(hash, "$2y$");
  return bcrypt && crypt_checksalt(hash.c_str()) == CRYPT_SALT_OK;
}

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_BCRYPT_HASH_H_
