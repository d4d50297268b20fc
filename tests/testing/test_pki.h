// MakeTestPki: certificates for TLS tests, generated with openssl.
#ifndef NSMD_TESTS_TESTING_TEST_PKI_H_
#define NSMD_TESTS_TESTING_TEST_PKI_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace nsmd::testing {

// PEM files in one directory (P-256 keys). `ca` signs the server (CN and
// subjectAltName localhost, 127.0.0.1), `client` and `expired` (a server
// certificate valid only on 2024-01-01); `other_ca` signs `other_client`.
struct TestPki {
  std::string ca_crt;
  std::string server_crt, server_key;
  std::string client_crt, client_key;
  std::string other_ca_crt;
  std::string other_client_crt, other_client_key;
  std::string expired_crt, expired_key;
};

// Generates a fresh TestPki in `dir` (which must exist) by running openssl;
// Internal with openssl's output if a command fails.
absl::StatusOr<TestPki> MakeTestPki(const std::filesystem::path& dir);

}  // namespace nsmd::testing

#endif  // NSMD_TESTS_TESTING_TEST_PKI_H_
