#include "daemon/export/http_server.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "daemon/base/status_macros.h"
#include "daemon/export/basic_auth.h"
#include "daemon/export/tls_credentials.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace nsmd {
namespace {

constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr char kPrometheusText[] = "text/plain; version=0.0.4; charset=utf-8";
constexpr char kJson[] = "application/json";
constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr char kRealm[] = "nsmd";
constexpr char kGet[] = "GET, HEAD";
constexpr char kPost[] = "POST";
// Each connection's buffer for the request line, headers and body reads.
constexpr size_t kConnectionMemory = 32 * 1024;

// A parsed Options::listen.
struct ListenAddress {
  std::string host;  // empty: every IPv4 interface
  int port = 0;
};

// "HOST:PORT"; only plain forms pass.
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
  if (host.empty() || host == "0.0.0.0") return ListenAddress{"", port};
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const absl::string_view inner = host.substr(1, host.size() - 2);
    const bool v6 = std::all_of(inner.begin(), inner.end(), [](char c) {
      return absl::ascii_isxdigit(c) || c == ':' || c == '.';
    });
    if (v6) return ListenAddress{std::string(inner), port};
  } else if (std::all_of(host.begin(), host.end(),
                         [](char c) { return absl::ascii_isalnum(c) || c == '.' || c == '-'; })) {
    return ListenAddress{std::string(host), port};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("listen address \"", listen, "\": host must be an IPv4 address or [IPv6]"));
}

// A non-blocking listening socket on `a`; sets *port to the bound port.
absl::StatusOr<int> ListenOn(const std::string& listen, const ListenAddress& a, int* port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_family = a.host.empty() ? AF_INET : AF_UNSPEC;
  addrinfo* result = nullptr;
  const int gai = getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(),
                              absl::StrCat(a.port).c_str(), &hints, &result);
  if (gai != 0 || result == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", gai_strerror(gai)));
  }
  const int fd = socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int error = fd < 0 ? errno : 0;
  const int on = 1;
  if (fd >= 0 &&
      (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
       bind(fd, result->ai_addr, result->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0)) {
    error = errno;
  }
  freeaddrinfo(result);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (error == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    error = errno;
  }
  if (error != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", std::strerror(error)));
  }
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return fd;
}

// GnuTLS priorities for Options::TlsOptions::min_version.
absl::StatusOr<std::string> TlsPriorities(const std::string& min_version) {
  if (min_version == "TLS12") return std::string("NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
  if (min_version == "TLS13") return std::string("NORMAL:-VERS-ALL:+VERS-TLS1.3");
  return absl::InvalidArgumentError(
      absl::StrCat("TLS min_version must be TLS12 or TLS13, got \"", min_version, "\""));
}

// Collects libmicrohttpd's messages while Start() runs on this thread; later
// ones (a client's failed handshake, ...) are dropped: clients control them.
thread_local std::string* start_errors = nullptr;

void LogMessage(void*, const char* format, va_list ap) {
  if (start_errors == nullptr) return;
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), format, ap);
  if (!start_errors->empty()) start_errors->append("; ");
  start_errors->append(std::string(absl::StripAsciiWhitespace(buf)));
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

MHD_Response* NewResponse(const Response& r) {
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return nullptr;
  MHD_add_response_header(response, "Content-Type", r.content_type);
  MHD_add_response_header(response, "Cache-Control", "no-store");
  if (r.allow != nullptr) MHD_add_response_header(response, "Allow", r.allow);
  return response;
}

}  // namespace

// The route table, the request callbacks and the daemon running them.
class HttpServer::Router {
 public:
  Router(Handlers handlers, const Options& options, std::unique_ptr<BasicAuth> auth,
         std::unique_ptr<TlsCredentials> tls)
      : handlers_(std::move(handlers)),
        auth_(std::move(auth)),
        auth_exempt_healthz_(options.basic_auth_exempt_healthz),
        tls_(std::move(tls)),
        max_connections_(options.max_connections),
        registry_(std::make_shared<prometheus::Registry>()),
        auth_failures_(prometheus::BuildCounter()
                           .Name("nsmd_http_auth_failures_total")
                           .Help("HTTP requests refused for missing or wrong basic-auth "
                                 "credentials")
                           .Register(*registry_)),
        missing_(auth_failures_.Add({{"reason", "missing"}})),
        wrong_(auth_failures_.Add({{"reason", "wrong"}})),
        open_(prometheus::BuildGauge()
                  .Name("nsmd_http_connections")
                  .Help("Open HTTP connections")
                  .Register(*registry_)
                  .Add({})),
        refused_(prometheus::BuildCounter()
                     .Name("nsmd_http_connections_refused_total")
                     .Help("HTTP connections closed at accept: http.max_connections were open")
                     .Register(*registry_)
                     .Add({})) {
    handlers_.collectables.push_back(registry_);
    // The routes. A null handler leaves its path out (404).
    Add("/healthz", kGet, [] { return Text(200, "ok\n"); });
    Add("/readyz", kGet, [this] {
      std::string reason;
      if (!handlers_.ready || handlers_.ready(&reason)) return Text(200, "ready\n");
      return Text(503, absl::StrCat("not ready: ", reason, "\n"));
    });
    Add("/metrics", kGet, [this] { return Metrics(); });
    if (handlers_.status_json) Add("/api/v1/status", kGet, Page(kJson, handlers_.status_json));
    if (handlers_.metrics_json) {
      Add("/api/v1/metrics", kGet, Page(kJson, handlers_.metrics_json));
    }
    if (handlers_.status_page) Add("/", kGet, Page(kHtml, handlers_.status_page));
    if (handlers_.reload) {
      Add("/-/reload", kPost, [this] {
        const absl::Status s = handlers_.reload();
        if (!s.ok()) return Text(500, absl::StrCat("reload failed: ", s.ToString(), "\n"));
        return Text(200, "reloaded\n");
      });
    }
  }

  ~Router() {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  }

  TlsCredentials* tls() const { return tls_.get(); }

  // Starts the daemon on listening socket `fd` (which it then owns).
  absl::Status Run(int fd, const Options& options, const std::string& priorities) {
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    std::vector<MHD_OptionItem> items = {
        {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
        {MHD_OPTION_CONNECTION_TIMEOUT, TimeoutSeconds(options.request_timeout), nullptr},
        // Above max_connections (OnAccept refuses first): a worker thread that
        // reaches its share stops accepting, the others keep refusing fast.
        {MHD_OPTION_CONNECTION_LIMIT, options.max_connections + 16 * options.threads, nullptr},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(kConnectionMemory), nullptr},
        {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&OnConnection), this},
        {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&LogMessage), nullptr},
    };
    if (options.threads > 1) {
      items.push_back({MHD_OPTION_THREAD_POOL_SIZE, options.threads, nullptr});
    }
    if (tls_ != nullptr) {
      flags |= MHD_USE_TLS;
      items.push_back({MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                       reinterpret_cast<void*>(&TlsCredentials::RetrieveCertificate)});
      items.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(priorities.c_str())});
    }
    items.push_back({MHD_OPTION_END, 0, nullptr});
    std::string errors;
    start_errors = &errors;
    daemon_ = MHD_start_daemon(flags, 0, &OnAccept, this, &OnRequest, this, MHD_OPTION_ARRAY,
                               items.data(), MHD_OPTION_END);
    start_errors = nullptr;
    if (daemon_ == nullptr) {
      close(fd);
      return absl::InternalError(
          absl::StrCat("cannot start the HTTP server on ", options.listen, ": ",
                       errors.empty() ? "libmicrohttpd refused its options" : errors));
    }
    return absl::OkStatus();
  }

 private:
  struct RouteEntry {
    const char* path;
    const char* allow;  // kGet or kPost
    std::function<Response()> serve;
  };

  void Add(const char* path, const char* allow, std::function<Response()> serve) {
    routes_.push_back(RouteEntry{path, allow, std::move(serve)});
  }

  // A route serving handler()'s document as `content_type`.
  static std::function<Response()> Page(const char* content_type,
                                        std::function<std::string()> handler) {
    return [content_type, handler = std::move(handler)] {
      Response r = Text(200, handler());
      r.content_type = content_type;
      return r;
    };
  }

  static intptr_t TimeoutSeconds(absl::Duration d) {
    return std::max<intptr_t>(
        1, static_cast<intptr_t>(absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)))));
  }

  Response Route(absl::string_view method, absl::string_view path) const {
    for (const auto& route : routes_) {
      if (path != route.path) continue;
      const bool allowed =
          route.allow == kGet ? (method == "GET" || method == "HEAD") : method == route.allow;
      if (!allowed) {
        Response r = Text(405, "method not allowed\n");
        r.allow = route.allow;
        return r;
      }
      return route.serve();
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

  // True if the request may proceed; otherwise counts the failure.
  bool Authorized(MHD_Connection* connection, absl::string_view path) {
    if (auth_ == nullptr || (auth_exempt_healthz_ && path == "/healthz")) return true;
    char* password = nullptr;
    char* user = MHD_basic_auth_get_username_password(connection, &password);
    const bool ok = user != nullptr && password != nullptr && auth_->Check(user, password);
    if (!ok) (user == nullptr ? missing_ : wrong_).Increment();
    if (user != nullptr) MHD_free(user);
    if (password != nullptr) MHD_free(password);
    return ok;
  }

  MHD_Result Answer(MHD_Connection* connection, absl::string_view method, absl::string_view path) {
    if (!Authorized(connection, path)) {
      MHD_Response* response = NewResponse(Text(401, "unauthorized\n"));
      if (response == nullptr) return MHD_NO;
      const MHD_Result result = MHD_queue_basic_auth_fail_response(connection, kRealm, response);
      MHD_destroy_response(response);
      return result;
    }
    Response r;
    try {
      r = Route(method, path);
    } catch (const std::exception& e) {
      r = Text(500, absl::StrCat("internal error: ", e.what(), "\n"));
    } catch (...) {
      r = Text(500, "internal error\n");
    }
    MHD_Response* response = NewResponse(r);
    if (response == nullptr) return MHD_NO;
    const MHD_Result result =
        MHD_queue_response(connection, static_cast<unsigned>(r.status), response);
    MHD_destroy_response(response);
    return result;
  }

  // libmicrohttpd calls this once the headers are in, then for each piece of
  // body, then once more with none: the request is answered then, the body
  // (no route reads one) discarded.
  static MHD_Result OnRequest(void* cls, MHD_Connection* connection, const char* url,
                              const char* method, const char* /*version*/,
                              const char* /*upload_data*/, size_t* upload_data_size,
                              void** request_state) {
    static int headers_seen;
    if (*request_state == nullptr) {
      *request_state = &headers_seen;
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      *upload_data_size = 0;
      return MHD_YES;
    }
    return static_cast<Router*>(cls)->Answer(connection, method, url);
  }

  static MHD_Result OnAccept(void* cls, const sockaddr*, socklen_t) {
    Router* self = static_cast<Router*>(cls);
    if (self->connections_.load(std::memory_order_relaxed) < self->max_connections_) {
      return MHD_YES;
    }
    self->refused_.Increment();
    return MHD_NO;
  }

  static void OnConnection(void* cls, MHD_Connection*, void**,
                           MHD_ConnectionNotificationCode code) {
    Router* self = static_cast<Router*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      self->connections_.fetch_add(1, std::memory_order_relaxed);
      self->open_.Increment();
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      self->connections_.fetch_sub(1, std::memory_order_relaxed);
      self->open_.Decrement();
    }
  }

  // Constant after construction.
  Handlers handlers_;
  const std::unique_ptr<BasicAuth> auth_;
  const bool auth_exempt_healthz_;
  const std::unique_ptr<TlsCredentials> tls_;
  const int max_connections_;
  std::vector<RouteEntry> routes_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& auth_failures_;
  prometheus::Counter& missing_;
  prometheus::Counter& wrong_;
  prometheus::Gauge& open_;
  prometheus::Counter& refused_;

  std::atomic<int> connections_{0};
  MHD_Daemon* daemon_ = nullptr;  // set once by Run
};

HttpServer::HttpServer(std::unique_ptr<Router> router, int port)
    : router_(std::move(router)), port_(port) {}

HttpServer::~HttpServer() = default;

absl::Status HttpServer::ReloadTls() {
  if (router_->tls() == nullptr) return absl::OkStatus();
  return router_->tls()->Reload(absl::Now());
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(Options options, Handlers handlers) {
  ASSIGN_OR_RETURN(const ListenAddress address, ParseListen(options.listen));
  if (options.threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP threads must be at least 1, got ", options.threads));
  }
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP max_connections must be at least 1, got ", options.max_connections));
  }
  std::unique_ptr<BasicAuth> auth;
  if (!options.basic_auth.empty()) {
    ASSIGN_OR_RETURN(auth, BasicAuth::Create(options.basic_auth));
  }
  std::unique_ptr<TlsCredentials> tls;
  std::string priorities;
  if (options.tls.has_value()) {
    if (options.tls->cert_file.empty() || options.tls->key_file.empty()) {
      return absl::InvalidArgumentError("TLS needs both cert_file and key_file");
    }
    ASSIGN_OR_RETURN(priorities, TlsPriorities(options.tls->min_version));
    ASSIGN_OR_RETURN(tls, TlsCredentials::Load(options.tls->cert_file, options.tls->key_file,
                                               options.tls->client_ca_file, absl::Now()));
  }
  int port = 0;
  ASSIGN_OR_RETURN(const int fd, ListenOn(options.listen, address, &port));
  if (tls != nullptr) tls->Register(port);
  auto router =
      std::make_unique<Router>(std::move(handlers), options, std::move(auth), std::move(tls));
  RETURN_IF_ERROR(router->Run(fd, options, priorities));
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(router), port));
}

}  // namespace nsmd
