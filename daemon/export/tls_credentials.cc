#include "daemon/export/tls_credentials.h"

#include <gnutls/x509.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/base/status_macros.h"

namespace nsmd {
namespace {

constexpr unsigned kMaxChain = 16;

// The credentials serving each local port (one server per port).
absl::Mutex registry_mu(absl::kConstInit);
absl::flat_hash_map<int, TlsCredentials*>& Registry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(registry_mu) {
  static auto* registry = new absl::flat_hash_map<int, TlsCredentials*>();
  return *registry;
}

absl::StatusOr<std::string> ReadFile(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", path));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

gnutls_datum_t Datum(const std::string& s) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
                        static_cast<unsigned>(s.size())};
}

std::string GnutlsError(int code) { return gnutls_strerror(code); }

// The local port of the session's socket (libmicrohttpd sets the socket as
// the session's transport int), or 0.
int LocalPort(gnutls_session_t session) {
  const int fd = gnutls_transport_get_int(session);
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (fd < 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

}  // namespace

struct TlsCredentials::Material {
  Material() = default;
  Material(const Material&) = delete;
  Material& operator=(const Material&) = delete;
  ~Material() {
    for (unsigned i = 0; i < chain_length; ++i) gnutls_pcert_deinit(&chain[i]);
    if (key != nullptr) gnutls_privkey_deinit(key);
    if (client_cas != nullptr) gnutls_x509_trust_list_deinit(client_cas, 1);
  }

  gnutls_pcert_st chain[kMaxChain] = {};
  unsigned chain_length = 0;
  gnutls_privkey_t key = nullptr;
  gnutls_x509_trust_list_t client_cas = nullptr;  // null: no mTLS

  // Reads and checks the three files.
  static absl::StatusOr<std::shared_ptr<const Material>> Read(const std::string& cert_file,
                                                              const std::string& key_file,
                                                              const std::string& ca_file,
                                                              absl::Time now);
};

absl::StatusOr<std::shared_ptr<const TlsCredentials::Material>> TlsCredentials::Material::Read(
    const std::string& cert_file, const std::string& key_file, const std::string& ca_file,
    absl::Time now) {
  auto m = std::make_shared<Material>();
  ASSIGN_OR_RETURN(const std::string cert, ReadFile("TLS certificate", cert_file));
  gnutls_datum_t d = Datum(cert);
  m->chain_length = kMaxChain;
  int rc =
      gnutls_pcert_list_import_x509_raw(m->chain, &m->chain_length, &d, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || m->chain_length == 0) {
    m->chain_length = 0;
    return absl::InvalidArgumentError(absl::StrCat("TLS certificate ", cert_file,
                                                   " is not a PEM certificate: ", GnutlsError(rc)));
  }
  // Validity of the server's own certificate (the first of the chain).
  gnutls_x509_crt_t leaf = nullptr;
  if (gnutls_x509_crt_init(&leaf) == 0 &&
      gnutls_x509_crt_import(leaf, &m->chain[0].cert, GNUTLS_X509_FMT_DER) == 0) {
    const absl::Time not_after = absl::FromTimeT(gnutls_x509_crt_get_expiration_time(leaf));
    const absl::Time not_before = absl::FromTimeT(gnutls_x509_crt_get_activation_time(leaf));
    gnutls_x509_crt_deinit(leaf);
    if (now > not_after) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS certificate ", cert_file, " expired at ",
                       absl::FormatTime(absl::RFC3339_sec, not_after, absl::UTCTimeZone())));
    }
    if (now < not_before) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS certificate ", cert_file, " is not valid before ",
                       absl::FormatTime(absl::RFC3339_sec, not_before, absl::UTCTimeZone())));
    }
  } else if (leaf != nullptr) {
    gnutls_x509_crt_deinit(leaf);
  }

  ASSIGN_OR_RETURN(const std::string key, ReadFile("TLS key", key_file));
  d = Datum(key);
  if ((rc = gnutls_privkey_init(&m->key)) < 0 ||
      (rc = gnutls_privkey_import_x509_raw(m->key, &d, GNUTLS_X509_FMT_PEM, nullptr, 0)) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", key_file, " is not a PEM private key: ", GnutlsError(rc)));
  }
  // The key must be the certificate's: compare public key ids.
  gnutls_pubkey_t pub = nullptr;
  unsigned char id_cert[64], id_key[64];
  size_t n_cert = sizeof(id_cert), n_key = sizeof(id_key);
  const bool match = gnutls_pubkey_init(&pub) == 0 &&
                     gnutls_pubkey_import_privkey(pub, m->key, 0, 0) == 0 &&
                     gnutls_pubkey_get_key_id(pub, 0, id_key, &n_key) == 0 &&
                     gnutls_pubkey_get_key_id(m->chain[0].pubkey, 0, id_cert, &n_cert) == 0 &&
                     n_cert == n_key && std::equal(id_cert, id_cert + n_cert, id_key);
  if (pub != nullptr) gnutls_pubkey_deinit(pub);
  if (!match) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS key ", key_file, " does not belong to certificate ", cert_file));
  }

  if (!ca_file.empty()) {
    ASSIGN_OR_RETURN(const std::string ca, ReadFile("TLS client CA file", ca_file));
    d = Datum(ca);
    rc = gnutls_x509_trust_list_init(&m->client_cas, 0);
    if (rc == 0)
      rc = gnutls_x509_trust_list_add_trust_mem(m->client_cas, &d, nullptr, GNUTLS_X509_FMT_PEM, 0,
                                                0);
    if (rc <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS client CA file ", ca_file, " holds no PEM certificate",
                       rc < 0 ? absl::StrCat(": ", GnutlsError(rc)) : ""));
    }
  }
  return std::shared_ptr<const Material>(std::move(m));
}

absl::StatusOr<std::unique_ptr<TlsCredentials>> TlsCredentials::Load(std::string cert_file,
                                                                     std::string key_file,
                                                                     std::string client_ca_file,
                                                                     absl::Time now) {
  std::unique_ptr<TlsCredentials> c(
      new TlsCredentials(std::move(cert_file), std::move(key_file), std::move(client_ca_file)));
  RETURN_IF_ERROR(c->Reload(now));
  return c;
}

TlsCredentials::~TlsCredentials() {
  if (port_ == 0) return;
  absl::MutexLock lock(&registry_mu);
  auto it = Registry().find(port_);
  if (it != Registry().end() && it->second == this) Registry().erase(it);
}

void TlsCredentials::Register(int port) {
  port_ = port;
  absl::MutexLock lock(&registry_mu);
  Registry()[port] = this;
}

absl::Status TlsCredentials::Reload(absl::Time now) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Material> m,
                   Material::Read(cert_file_, key_file_, client_ca_file_, now));
  absl::MutexLock lock(&mu_);
  current_ = m;
  loaded_.push_back(std::move(m));
  return absl::OkStatus();
}

std::shared_ptr<const TlsCredentials::Material> TlsCredentials::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

std::shared_ptr<const TlsCredentials::Material> TlsCredentials::ForSession(
    gnutls_session_t session) {
  absl::MutexLock lock(&registry_mu);
  auto it = Registry().find(LocalPort(session));
  return it == Registry().end() ? nullptr : it->second->Current();
}

// The CAs are looked up again rather than carried in the session's pointer,
// which libmicrohttpd uses for its own.
int TlsCredentials::VerifyClient(gnutls_session_t session) {
  const std::shared_ptr<const Material> m = ForSession(session);
  gnutls_x509_trust_list_t cas = m == nullptr ? nullptr : m->client_cas;
  unsigned n = 0;
  const gnutls_datum_t* peers = gnutls_certificate_get_peers(session, &n);
  if (cas == nullptr || peers == nullptr || n == 0) return GNUTLS_E_NO_CERTIFICATE_FOUND;
  if (n > kMaxChain) n = kMaxChain;
  gnutls_x509_crt_t chain[kMaxChain] = {};
  unsigned imported = 0;
  int result = 0;
  for (; imported < n; ++imported) {
    if (gnutls_x509_crt_init(&chain[imported]) < 0) break;
    if (gnutls_x509_crt_import(chain[imported], &peers[imported], GNUTLS_X509_FMT_DER) < 0) {
      ++imported;
      result = GNUTLS_E_CERTIFICATE_ERROR;
      break;
    }
  }
  unsigned status = 0;
  if (result == 0 &&
      (imported != n ||
       gnutls_x509_trust_list_verify_crt2(cas, chain, n, nullptr, 0, 0, &status, nullptr) < 0 ||
       status != 0)) {
    result = GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
  }
  for (unsigned i = 0; i < imported; ++i) gnutls_x509_crt_deinit(chain[i]);
  return result;
}

int TlsCredentials::RetrieveCertificate(gnutls_session_t session, const gnutls_datum_t*, int,
                                        const gnutls_pk_algorithm_t*, int, gnutls_pcert_st** pcert,
                                        unsigned int* pcert_length, gnutls_privkey_t* privkey) {
  const std::shared_ptr<const Material> m = ForSession(session);
  if (m == nullptr) return -1;
  // `m` stays alive in loaded_ until the credentials are destroyed, which is
  // after the server (and so this session) has stopped.
  *pcert = const_cast<gnutls_pcert_st*>(m->chain);
  *pcert_length = m->chain_length;
  *privkey = m->key;
  if (m->client_cas != nullptr) {
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_function(session, &VerifyClient);
  }
  return 0;
}

}  // namespace nsmd
