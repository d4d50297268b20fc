// TlsCredentials: the HTTPS certificate, key and client CAs, reloadable.
#ifndef NSMD_DAEMON_EXPORT_TLS_CREDENTIALS_H_
#define NSMD_DAEMON_EXPORT_TLS_CREDENTIALS_H_

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace nsmd {

// Loads a PEM certificate chain, its private key and optional client CAs
// from files, and hands them to GnuTLS handshakes of the server listening on
// a given local port through RetrieveCertificate (libmicrohttpd's
// MHD_OPTION_HTTPS_CERT_CALLBACK, which has no user pointer: the server is
// found by the session's local port).
//
// With client CAs, every handshake requires a client certificate that
// verifies against them (mTLS); a handshake without one, or with one from
// another CA, fails.
//
// Reload() swaps in newly read files; handshakes in flight keep the old ones,
// which stay allocated until this object is destroyed (a few KiB a reload).
//
// Thread-safe. Destroy it only after the server using it has stopped.
class TlsCredentials {
 public:
  // Reads the files and checks them. Errors: InvalidArgument naming the file
  // if one is unreadable or not PEM, the key does not belong to the
  // certificate, or the certificate has expired or is not valid yet at
  // `now`, e.g. "TLS certificate /etc/nsmd/tls.crt expired at
  // 2025-01-01T00:00:00+00:00".
  static absl::StatusOr<std::unique_ptr<TlsCredentials>> Load(std::string cert_file,
                                                              std::string key_file,
                                                              std::string client_ca_file,
                                                              absl::Time now);
  ~TlsCredentials();

  // Serves handshakes accepted on local TCP port `port` from now on.
  void Register(int port);

  // Re-reads the files (same checks as Load); on error the current ones
  // stay.
  absl::Status Reload(absl::Time now);

  // For MHD_OPTION_HTTPS_CERT_CALLBACK: finds the registered credentials of
  // the session's local port, gives GnuTLS their certificate chain and key
  // and, with client CAs, requires and verifies a client certificate.
  // Returns -1 (handshake fails) if no credentials serve that port.
  static int RetrieveCertificate(gnutls_session_t session, const gnutls_datum_t* req_ca_dn,
                                 int nreqs, const gnutls_pk_algorithm_t* pk_algos,
                                 int pk_algos_length, gnutls_pcert_st** pcert,
                                 unsigned int* pcert_length, gnutls_privkey_t* privkey);

 private:
  struct Material;

  TlsCredentials(std::string cert_file, std::string key_file, std::string client_ca_file)
      : cert_file_(std::move(cert_file)),
        key_file_(std::move(key_file)),
        client_ca_file_(std::move(client_ca_file)) {}

  // The current material (may be null only before Load returns).
  std::shared_ptr<const Material> Current() const;

  // The current material of the credentials registered for the session's
  // local port, or null.
  static std::shared_ptr<const Material> ForSession(gnutls_session_t session);

  // The verify function of an mTLS session: the client's chain must verify
  // against the client CAs. A non-zero return fails the handshake.
  static int VerifyClient(gnutls_session_t session);

  const std::string cert_file_;
  const std::string key_file_;
  const std::string client_ca_file_;
  int port_ = 0;  // set once by Register

  mutable absl::Mutex mu_;
  std::shared_ptr<const Material> current_ ABSL_GUARDED_BY(mu_);
  // Every material ever current: a handshake may still use an old one.
  std::vector<std::shared_ptr<const Material>> loaded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_TLS_CREDENTIALS_H_
