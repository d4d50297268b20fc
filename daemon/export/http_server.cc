#include "daemon/export/http_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <iterator>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"

namespace nsmd {
namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kPrometheusText[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kJson[] = "application/json";
constexpr char kHtml[] = "text/html; charset=utf-8";

// Collects civetweb's error messages while Start() runs on this thread: the
// reason a bind failed is only reported through the log callback.
thread_local std::string* start_errors = nullptr;

int LogMessage(const mg_connection* /*conn*/, const char* message) {
  if (start_errors == nullptr) return 0;  // civetweb's default handling
  if (!start_errors->empty()) start_errors->append("; ");
  start_errors->append(message);
  return 1;
}

// A parsed Options::listen.
struct ListenAddress {
  std::string civet;      // civetweb's listening_ports value
  std::string wake_host;  // where a local client reaches the socket
};

// "HOST:PORT" -> civetweb's listening_ports value. Only plain forms pass:
// civetweb would read "80s" as TLS, "80r" as redirect and "," as a list.
absl::StatusOr<ListenAddress> ParseListen(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\" is not HOST:PORT"));
  }
  const absl::string_view host = listen.substr(0, colon);
  const absl::string_view port_text = listen.substr(colon + 1);
  int port = -1;
  const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                      std::all_of(port_text.begin(), port_text.end(),
                                  [](char c) { return absl::ascii_isdigit(c); });
  if (!digits || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\": port must be 0..65535"));
  }
  if (host.empty() || host == "0.0.0.0") return ListenAddress{std::string(port_text), "127.0.0.1"};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const absl::string_view inner = host.substr(1, host.size() - 2);
    const bool v6 = std::all_of(inner.begin(), inner.end(), [](char c) {
      return absl::ascii_isxdigit(c) || c == ':' || c == '.';
    });
    if (v6) {
      return ListenAddress{absl::StrCat(host, ":", port_text),
                           inner == "::" ? "::1" : std::string(inner)};
    }
  } else if (std::all_of(host.begin(), host.end(), [](char c) {
               return absl::ascii_isalnum(c) || c == '.' || c == '-';
             })) {
    return ListenAddress{absl::StrCat(host, ":", port_text), std::string(host)};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "listen address \"", listen, "\": host must be an IPv4 address or [IPv6]"));
}

// Opens and closes one TCP connection to host:port; errors are ignored.
// The connect is non-blocking and waited for at most kPokeWaitMs: a SYN that
// meets the listener as it closes is only retried by the kernel after 1 s,
// and the destructor joins the thread that pokes.
constexpr int kPokeWaitMs = 50;

void Poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), absl::StrCat(port).c_str(), &hints, &result) != 0) return;
  for (addrinfo* a = result; a != nullptr; a = a->ai_next) {
    const int fd =
        socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    bool connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (!connected && errno == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof(error);
      connected = poll(&pfd, 1, kPokeWaitMs) == 1 &&
                  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(result);
}

struct Response {
  int status = 200;
  const char* content_type = kTextPlain;
  std::string body;
  const char* allow = nullptr;  // Allow header of a 405
};

Response Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void Send(mg_connection* conn, const Response& r, bool head) {
  const std::string length = absl::StrCat(r.body.size());
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type, -1);
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  if (r.allow != nullptr) mg_response_header_add(conn, "Allow", r.allow, -1);
  mg_response_header_send(conn);
  if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

}  // namespace

// Serves every request: registered on "/", which civetweb matches as a
// prefix of every URI. Each handleX override answers the request itself and
// returns true, so civetweb never falls back to its own file serving.
class HttpServer::Router : public CivetHandler {
 public:
  explicit Router(Handlers handlers) : handlers_(std::move(handlers)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handleHead(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePut(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handleDelete(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handleOptions(CivetServer*, mg_connection* conn) override { return Handle(conn); }
  bool handlePatch(CivetServer*, mg_connection* conn) override { return Handle(conn); }

 private:
  bool Handle(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    const absl::string_view method = info->request_method ? info->request_method : "";
    const absl::string_view path = info->local_uri ? info->local_uri : "";
    Response response;
    try {
      response = Route(method, path);
    } catch (const std::exception& e) {
      response = Text(500, absl::StrCat("internal error: ", e.what(), "\n"));
    } catch (...) {
      response = Text(500, "internal error\n");
    }
    Send(conn, response, method == "HEAD");
    return true;
  }

  Response Route(absl::string_view method, absl::string_view path) const {
    const bool get = method == "GET" || method == "HEAD";
    if (path == "/-/reload") {
      if (!handlers_.reload) return Text(404, "not found\n");
      if (method != "POST") return MethodNotAllowed("POST");
      const absl::Status s = handlers_.reload();
      if (!s.ok()) return Text(500, absl::StrCat("reload failed: ", s.ToString(), "\n"));
      return Text(200, "reloaded\n");
    }
    if (path == "/healthz") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      return Text(200, "ok\n");
    }
    if (path == "/readyz") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      std::string reason;
      if (!handlers_.ready || handlers_.ready(&reason)) return Text(200, "ready\n");
      return Text(503, absl::StrCat("not ready: ", reason, "\n"));
    }
    if (path == "/metrics") {
      if (!get) return MethodNotAllowed("GET, HEAD");
      return Metrics();
    }
    if (path == "/api/v1/status" || path == "/api/v1/metrics" || path == "/") {
      const auto& handler = path == "/"                ? handlers_.status_page
                            : path == "/api/v1/status" ? handlers_.status_json
                                                       : handlers_.metrics_json;
      if (!handler) return Text(404, "not found\n");
      if (!get) return MethodNotAllowed("GET, HEAD");
      Response r = Text(200, handler());
      r.content_type = path == "/" ? kHtml : kJson;
      return r;
    }
    return Text(404, "not found\n");
  }

  Response Metrics() const {
    std::vector<prometheus::MetricFamily> families;
    for (const auto& c : handlers_.collectables) {
      if (c == nullptr) continue;
      std::vector<prometheus::MetricFamily> f = c->Collect();
      families.insert(families.end(), std::make_move_iterator(f.begin()),
                      std::make_move_iterator(f.end()));
    }
    Response r = Text(200, prometheus::TextSerializer().Serialize(families));
    r.content_type = kPrometheusText;
    return r;
  }

  static Response MethodNotAllowed(const char* allow) {
    Response r = Text(405, "method not allowed\n");
    r.allow = allow;
    return r;
  }

  const Handlers handlers_;
};

HttpServer::HttpServer(std::unique_ptr<Router> router, std::unique_ptr<CivetServer> server,
                       int port, std::string wake_host)
    : router_(std::move(router)),
      server_(std::move(server)),
      port_(port),
      wake_host_(std::move(wake_host)) {}

HttpServer::~HttpServer() {
  // civetweb's accept loop only notices the stop flag when its poll() wakes,
  // which without traffic is after a fixed 2 s quantum. Connecting to the
  // socket wakes it at once; keep poking until the stop is complete (a poke
  // that lands before the flag is set is just an empty request).
  absl::Notification stopped;
  std::thread waker;
  try {
    waker = std::thread([this, &stopped] {
      do {
        Poke(wake_host_, port_);
      } while (!stopped.WaitForNotificationWithTimeout(absl::Milliseconds(20)));
    });
  } catch (const std::system_error&) {
    // No thread to spare: stop the slow way.
  }
  // Stop (joining the workers) before the router goes away.
  server_.reset();
  stopped.Notify();
  if (waker.joinable()) waker.join();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options,
                                                             Handlers handlers) {
  absl::StatusOr<ListenAddress> address = ParseListen(options.listen);
  if (!address.ok()) return address.status();
  if (options.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP threads must be at least 1, got ", options.threads));
  }
  const std::vector<std::string> civet_options = {
      "listening_ports", address->civet, "num_threads", absl::StrCat(options.threads),
      // Keep-alive would pin a worker per idle scraper connection.
      "enable_keep_alive", "no"};
  CivetCallbacks callbacks;
  callbacks.log_message = &LogMessage;

  auto router = std::make_unique<Router>(std::move(handlers));
  std::unique_ptr<CivetServer> server;
  std::string errors;
  start_errors = &errors;
  try {
    server = std::make_unique<CivetServer>(civet_options, &callbacks);
  } catch (const std::exception& e) {
    // CivetException: mg_start returned null, e.g. the port is taken.
    if (errors.empty()) errors = e.what();
  }
  start_errors = nullptr;
  if (server == nullptr || server->getContext() == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, ": ", errors));
  }
  server->addHandler("/", router.get());

  int port = 0;
  mg_server_port bound[4] = {};
  const int n = mg_get_server_ports(server->getContext(), 4, bound);
  if (n > 0) port = bound[0].port;
  if (port <= 0) {
    return absl::InternalError(absl::StrCat("civetweb did not report the bound port of ",
                                            options.listen));
  }
  return std::unique_ptr<HttpServer>(
      new HttpServer(std::move(router), std::move(server), port, address->wake_host));
}

}  // namespace nsmd
