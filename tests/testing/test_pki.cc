#include "tests/testing/test_pki.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace nsmd::testing {
namespace {

// Runs `command` with sh in `dir`; Internal with its output on failure.
absl::Status Run(const std::filesystem::path& dir, const std::string& command) {
  const std::string line = absl::StrCat("cd '", dir.string(), "' && ", command, " 2>&1");
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  if (pclose(pipe) != 0) return absl::InternalError(absl::StrCat(command, ":\n", output));
  return absl::OkStatus();
}

constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

// A key and a CSR NAME.key, NAME.csr with common name CN.
std::string Request(const std::string& name, const std::string& cn) {
  return absl::StrCat("openssl req -new ", kNewKey, " -keyout ", name, ".key -out ", name,
                      ".csr -subj /CN=", cn);
}

// NAME.crt: NAME.csr signed by CA for a day, with extensions from EXT.
std::string Sign(const std::string& name, const std::string& ca, const std::string& ext) {
  return absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca, ".crt -CAkey ", ca,
                      ".key -CAcreateserial -days 1 -out ", name, ".crt -extfile ", ext);
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki(const std::filesystem::path& dir) {
  std::ofstream(dir / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                       "extendedKeyUsage=serverAuth\n";
  std::ofstream(dir / "client.ext") << "extendedKeyUsage=clientAuth\n";
  // `openssl ca` is the one command of OpenSSL 3.0 that sets a past validity.
  std::filesystem::create_directories(dir / "ca-db");
  std::ofstream(dir / "ca-db" / "index.txt");
  std::ofstream(dir / "ca-db" / "serial") << "1000\n";
  std::ofstream(dir / "ca.cnf") << "[ca]\ndefault_ca = d\n[d]\ndatabase = ca-db/index.txt\n"
                                   "new_certs_dir = ca-db\nserial = ca-db/serial\n"
                                   "default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n";
  for (const std::string& command : {
           absl::StrCat("openssl req -x509 ", kNewKey,
                        " -keyout ca.key -out ca.crt -days 2 -subj /CN=nsmd-test-ca"),
           absl::StrCat("openssl req -x509 ", kNewKey,
                        " -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca"),
           Request("server", "localhost"),
           Sign("server", "ca", "server.ext"),
           Request("client", "scraper"),
           Sign("client", "ca", "client.ext"),
           Request("other-client", "intruder"),
           Sign("other-client", "other-ca", "client.ext"),
           Request("expired", "localhost"),
           std::string("openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in "
                       "expired.csr -out expired.crt -notext -startdate 20240101000000Z "
                       "-enddate 20240102000000Z"),
       }) {
    if (absl::Status s = Run(dir, command); !s.ok()) return s;
  }
  auto path = [&dir](const char* name) { return (dir / name).string(); };
  TestPki pki;
  pki.ca_crt = path("ca.crt");
  pki.server_crt = path("server.crt");
  pki.server_key = path("server.key");
  pki.client_crt = path("client.crt");
  pki.client_key = path("client.key");
  pki.other_ca_crt = path("other-ca.crt");
  pki.other_client_crt = path("other-client.crt");
  pki.other_client_key = path("other-client.key");
  pki.expired_crt = path("expired.crt");
  pki.expired_key = path("expired.key");
  return pki;
}

}  // namespace nsmd::testing
