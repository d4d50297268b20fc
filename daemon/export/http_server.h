// HttpServer: nsmd's HTTP endpoints (/metrics, probes, JSON API, reload).
#ifndef NSMD_DAEMON_EXPORT_HTTP_SERVER_H_
#define NSMD_DAEMON_EXPORT_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "prometheus/collectable.h"

class CivetServer;

namespace nsmd {

// An embedded civetweb server with a fixed set of routes:
//
//   GET  /               Handlers::status_page() (text/html)
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
// a 500; no exception reaches civetweb.
//
// Thread-safe: handlers run on civetweb's worker threads (Options::threads of
// them), concurrently with each other and with the owner's threads, so they
// must be thread-safe themselves. The destructor stops accepting, waits for
// in-flight requests, then destroys the handlers.
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

  struct Options {
    // "HOST:PORT"; HOST may be an IPv4 address, a host name, empty or
    // 0.0.0.0 (all IPv4 interfaces), or "[IPv6]" if civetweb was built with
    // IPv6 (Debian 12's is not: Start() then fails with Unavailable).
    // PORT 0 binds an ephemeral port (see port()).
    std::string listen = "0.0.0.0:9464";
    // Worker threads; at least 1.
    int threads = 4;
  };

  // Binds and starts serving.
  // Errors: InvalidArgument if `listen` is not HOST:PORT with PORT in
  // [0, 65535] or `threads` < 1; Unavailable if civetweb cannot listen there
  // (port in use, address not local, unsupported host), with its message,
  // e.g. "cannot listen on 127.0.0.1:9464: cannot bind to 127.0.0.1:9464:
  // 98 (Address already in use); Failed to setup server ports".
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

 private:
  // Routes requests to the handlers; the civetweb adapter (in the .cc).
  class Router;

  HttpServer(std::unique_ptr<Router> router, std::unique_ptr<CivetServer> server, int port,
             std::string wake_host);

  // Declared before server_: destroyed after it, so no request can still be
  // using the router.
  std::unique_ptr<Router> router_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
  // A host a local client can connect to, to wake civetweb's accept
  // loop on shutdown.
  std::string wake_host_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_HTTP_SERVER_H_
