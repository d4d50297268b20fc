// HttpServer: nsmd's HTTP endpoints (/metrics, probes, JSON API, reload).
#ifndef NSMD_DAEMON_EXPORT_HTTP_SERVER_H_
#define NSMD_DAEMON_EXPORT_HTTP_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"

struct MHD_Daemon;

namespace nsmd {

class BasicAuth;
class TlsCredentials;

// An embedded libmicrohttpd server (epoll event loops, no thread per
// connection) with a fixed set of routes:
//
//   GET  /                Handlers::status_page() (text/html)
//   GET  /healthz         200 "ok\n" while the process serves HTTP
//   GET  /readyz          200 "ready\n" or 503 "not ready: <reason>\n"
//   GET  /metrics         Prometheus text format 0.0.4 of all collectables
//   GET  /api/v1/status   Handlers::status_json()  (application/json)
//   GET  /api/v1/metrics  Handlers::metrics_json() (application/json)
//   POST /-/reload        Handlers::reload(): 200 "reloaded\n" or
//                         500 "reload failed: <status>\n"
//
// GET routes also answer HEAD (headers only). A route whose handler is null
// answers 404 (e.g. /-/reload when reloading over HTTP is disabled; a null
// `ready` means always ready). A known path with another method answers 405
// with an Allow header, an unknown path 404. A handler that throws produces
// a 500; no exception reaches libmicrohttpd.
//
// Slow and hostile clients: a connection idle for Options::request_timeout
// (an incomplete request, a TLS handshake that stalls, a reader that stops
// reading its response) is closed; each connection's request buffer is
// bounded (32 KiB); beyond Options::max_connections open connections a new
// one is closed at once after accept. None of them holds a thread: requests
// are parsed by Options::threads event loops and a handler only runs once a
// request is complete.
//
// With Options::basic_auth set, every route (except /healthz when
// Options::basic_auth_exempt_healthz) needs a user's credentials: 401 with
// `WWW-Authenticate: Basic realm="nsmd"` otherwise, counted in
// nsmd_http_auth_failures_total{reason="missing"|"wrong"}. The server's own
// metrics (that counter, nsmd_http_connections, and
// nsmd_http_connections_refused_total) are served after the collectables.
//
// Thread-safe: handlers run on the event loop threads, concurrently with each
// other and with the owner's threads, so they must be thread-safe themselves;
// a handler that takes long (reload) delays the other connections of its
// loop. The destructor stops accepting, closes every connection, then
// destroys the handlers.
class HttpServer {
 public:
  // What the routes serve. Copied into the server at Start().
  struct Handlers {
    // Serialized together, in order, on /metrics. Null entries are skipped.
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
    // /readyz: returns true if ready; otherwise sets *reason.
    std::function<bool(std::string* reason)> ready;
    // GET /api/v1/status: a JSON document.
    std::function<std::string()> status_json;
    // GET /api/v1/metrics: a JSON document.
    std::function<std::string()> metrics_json;
    // GET /: an HTML page (404 if null).
    std::function<std::string()> status_page;
    // POST /-/reload; null disables the endpoint (404).
    std::function<absl::Status()> reload;
  };

  // HTTPS, as the Prometheus exporter toolkit's `tls_server_config`.
  struct TlsOptions {
    std::string cert_file;  // PEM: the certificate, then its chain
    std::string key_file;   // PEM private key of the certificate
    // PEM CA certificates; non-empty: clients must present a certificate
    // signed by one of them (mTLS), or the handshake is refused.
    std::string client_ca_file;
    // "TLS12" or "TLS13".
    std::string min_version = "TLS12";
  };

  struct Options {
    // "HOST:PORT"; HOST may be an IPv4 address, a host name (resolved once,
    // first IPv4 address), empty or 0.0.0.0 (all IPv4 interfaces), or
    // "[IPv6]". PORT 0 binds an ephemeral port (see port()).
    std::string listen = "0.0.0.0:9464";
    // Event loop threads; at least 1.
    int threads = 4;
    // A connection with no traffic for this long is closed (rounded up to
    // whole seconds, at least 1 s).
    absl::Duration request_timeout = absl::Seconds(10);
    // Open connections beyond this are closed right after accept; at least
    // 1. Needs as many file descriptors (see RLIMIT_NOFILE).
    int max_connections = 4096;
    // Unset: plain HTTP.
    std::optional<TlsOptions> tls;
    // User name -> bcrypt hash ($2a$, $2b$, $2y$). Empty: no authentication.
    std::map<std::string, std::string> basic_auth;
    // With basic_auth: /healthz answers without credentials (for probes).
    bool basic_auth_exempt_healthz = false;
  };

  // Binds and starts serving.
  // Errors: InvalidArgument if `listen` is not HOST:PORT with PORT in
  // [0, 65535], `threads` or `max_connections` < 1, a basic_auth hash is not
  // bcrypt, or TLS options are incomplete or their files are unreadable,
  // malformed, mismatched or the certificate is expired or not yet valid
  // (the message names the file); Unavailable if the address cannot be bound
  // (port in use, address not local), e.g. "cannot listen on
  // 127.0.0.1:9464: Address already in use".
  //
  // Example:
  //   HttpServer::Options options;
  //   options.listen = "127.0.0.1:0";
  //   auto server = HttpServer::Start(options, std::move(handlers));
  //   if (!server.ok()) return server.status();
  //   int port = (*server)->port();
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(Options options, Handlers handlers);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();

  // The bound TCP port (the ephemeral one if Options asked for port 0).
  int port() const { return port_; }

  // Re-reads the TLS certificate, key and client CA files; new handshakes
  // use them. On error (same checks as Start) the previous ones stay in use.
  // OK and nothing done without TLS. Thread-safe.
  absl::Status ReloadTls();

 private:
  // The routes and the libmicrohttpd callbacks (in the .cc).
  class Router;

  HttpServer(std::unique_ptr<Router> router, int port);

  // Owns the handlers, the TLS state and the daemon; its destructor stops
  // the daemon before anything it uses goes away.
  std::unique_ptr<Router> router_;
  int port_ = 0;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_HTTP_SERVER_H_
