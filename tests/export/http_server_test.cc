#include "daemon/export/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/export/nsm_collectable.h"
#include "daemon/export/pipeline_probe.h"
#include "daemon/export/snapshot_publisher.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

using ::nsmd::testing::HttpRequest;
using ::nsmd::testing::HttpResponse;
using ::nsmd::testing::PrometheusValue;
using ::testing::HasSubstr;

// Sends a raw GET and returns the whole response, headers included (the
// shared client only returns status and body).
std::string RawGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string raw;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) raw.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return raw;
}

HttpResponse Must(absl::StatusOr<HttpResponse> r) {
  EXPECT_OK(r);
  return r.ok() ? *r : HttpResponse{};
}

HttpServer::Options Loopback() {
  HttpServer::Options options;
  options.listen = "127.0.0.1:0";
  options.threads = 2;
  return options;
}

// One NSM series, so /metrics has a known line.
std::shared_ptr<SnapshotPublisher> PublisherWithWau() {
  auto publisher = std::make_shared<SnapshotPublisher>();
  auto snapshot = std::make_shared<MetricsSnapshot>();
  SeriesSample s;
  s.metric = "wau";
  s.window = "current";
  s.window_start_ms = 1704067200000;
  s.value = 7;
  snapshot->samples.push_back(s);
  publisher->Publish(nullptr, snapshot);
  return publisher;
}

TEST(HttpServerTest, Routes) {
  std::atomic<bool> ready{false};
  HttpServer::Handlers handlers;
  handlers.collectables = {std::make_shared<NsmCollectable>(PublisherWithWau())};
  handlers.ready = [&ready](std::string* reason) {
    if (!ready) *reason = "state not loaded";
    return ready.load();
  };
  handlers.status_json = [] { return std::string(R"({"ok":true})"); };
  handlers.metrics_json = [] { return std::string(R"({"metrics":[]})"); };
  auto server = HttpServer::Start(Loopback(), std::move(handlers));
  ASSERT_OK(server);
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  HttpResponse r = Must(HttpRequest(port, "GET", "/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");

  r = Must(HttpRequest(port, "GET", "/readyz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: state not loaded\n");
  ready = true;
  r = Must(HttpRequest(port, "GET", "/readyz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ready\n");

  r = Must(HttpRequest(port, "GET", "/metrics"));
  EXPECT_EQ(r.status, 200);
  auto value = PrometheusValue(r.body, R"(nsm_metric_value{metric="wau",window="current"})");
  ASSERT_OK(value) << value.status() << "\n" << r.body;
  EXPECT_EQ(*value, 7);
  // Query strings do not change the route.
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/metrics?x=1")).status, 200);

  r = Must(HttpRequest(port, "GET", "/api/v1/status"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true})");
  r = Must(HttpRequest(port, "GET", "/api/v1/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"metrics":[]})");

  // HEAD: status and headers, no body.
  r = Must(HttpRequest(port, "HEAD", "/healthz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");

  // Reload is disabled (null handler): 404 whatever the method.
  EXPECT_EQ(Must(HttpRequest(port, "POST", "/-/reload")).status, 404);
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/-/reload")).status, 404);

  EXPECT_EQ(Must(HttpRequest(port, "GET", "/nope")).status, 404);
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/")).status, 404);
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/metrics/extra")).status, 404);
  EXPECT_EQ(Must(HttpRequest(port, "POST", "/healthz")).status, 405);
  EXPECT_EQ(Must(HttpRequest(port, "DELETE", "/metrics")).status, 405);
  EXPECT_EQ(Must(HttpRequest(port, "PUT", "/api/v1/status")).status, 405);
}

TEST(HttpServerTest, MetricsContentType) {
  HttpServer::Handlers handlers;
  handlers.collectables = {std::make_shared<NsmCollectable>(PublisherWithWau())};
  auto server = HttpServer::Start(Loopback(), std::move(handlers));
  ASSERT_OK(server);
  const std::string raw = RawGet((*server)->port(), "/metrics");
  // An HTTP/1.1 server answers a 1.0 request with its own version
  // (RFC 9110 2.5) and closes.
  EXPECT_THAT(raw, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(raw, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  const std::string json = RawGet((*server)->port(), "/healthz");
  EXPECT_THAT(json, HasSubstr("Content-Type: text/plain; charset=utf-8\r\n"));
  // Content-Length of "ok\n" is 3.
  EXPECT_THAT(json, HasSubstr("Content-Length: 3\r\n"));
}

TEST(HttpServerTest, ReloadEndpoint) {
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  HttpServer::Handlers handlers;
  handlers.reload = [&] {
    ++calls;
    if (fail) return absl::FailedPreconditionError("bad yaml");
    return absl::OkStatus();
  };
  auto server = HttpServer::Start(Loopback(), std::move(handlers));
  ASSERT_OK(server);
  const int port = (*server)->port();

  HttpResponse r = Must(HttpRequest(port, "POST", "/-/reload"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "reloaded\n");
  EXPECT_EQ(calls, 1);

  fail = true;
  r = Must(HttpRequest(port, "POST", "/-/reload"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "reload failed: FAILED_PRECONDITION: bad yaml\n");
  EXPECT_EQ(calls, 2);

  // Only POST reloads.
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/-/reload")).status, 405);
  EXPECT_EQ(calls, 2);

  // Null JSON handlers: those routes do not exist.
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/api/v1/status")).status, 404);
  // Null ready: always ready.
  EXPECT_EQ(Must(HttpRequest(port, "GET", "/readyz")).status, 200);
  // No collectables: only the server's own metrics. The earlier connections'
  // close is seen by the server after their client has the response, so the
  // gauge reaches 1 (this scrape's own connection) only eventually.
  absl::StatusOr<double> open = absl::NotFoundError("not scraped");
  for (int i = 0; i < 200 && !(open.ok() && *open == 1); ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(10));
    r = Must(HttpRequest(port, "GET", "/metrics"));
    ASSERT_EQ(r.status, 200);
    EXPECT_THAT(r.body, ::testing::StartsWith("# HELP nsmd_http_auth_failures_total "));
    open = PrometheusValue(r.body, "nsmd_http_connections");
  }
  EXPECT_EQ(open.value_or(-1), 1);
}

TEST(HttpServerTest, ThrowingHandlerGives500) {
  HttpServer::Handlers handlers;
  handlers.status_json = []() -> std::string { throw std::runtime_error("boom"); };
  auto server = HttpServer::Start(Loopback(), std::move(handlers));
  ASSERT_OK(server);
  HttpResponse r = Must(HttpRequest((*server)->port(), "GET", "/api/v1/status"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "internal error: boom\n");
  // The server still serves afterwards.
  EXPECT_EQ(Must(HttpRequest((*server)->port(), "GET", "/healthz")).status, 200);
}

TEST(HttpServerTest, PortInUseIsAnError) {
  auto first = HttpServer::Start(Loopback(), {});
  ASSERT_OK(first);
  HttpServer::Options options = Loopback();
  options.listen = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = HttpServer::Start(options, {});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(options.listen));
  // The first one is unaffected.
  EXPECT_EQ(Must(HttpRequest((*first)->port(), "GET", "/healthz")).status, 200);
}

TEST(HttpServerTest, MalformedOptions) {
  for (const char* listen : {"9464", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:-1",
                             "127.0.0.1:80s", "::1:9464", "a,b:9464", "host name:1"}) {
    HttpServer::Options options;
    options.listen = listen;
    auto server = HttpServer::Start(options, {});
    ASSERT_FALSE(server.ok()) << listen;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument)
        << listen << ": " << server.status();
  }
  HttpServer::Options options = Loopback();
  options.threads = 0;
  EXPECT_EQ(HttpServer::Start(options, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HttpServerTest, StopsPromptly) {
  // The event loops wait in epoll without a timeout when idle; the
  // destructor wakes them, so stopping takes far less than a second.
  for (const char* listen : {"127.0.0.1:0", "0.0.0.0:0"}) {
    HttpServer::Options options;
    options.listen = listen;
    auto server = HttpServer::Start(options, {});
    ASSERT_OK(server);
    const absl::Time start = absl::Now();
    server->reset();
    EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << listen;
  }
}

TEST(HttpServerTest, AllInterfacesForm) {
  // "0.0.0.0:0" binds every IPv4 interface, loopback included.
  HttpServer::Options options;
  options.listen = "0.0.0.0:0";
  options.threads = 1;
  auto server = HttpServer::Start(options, {});
  ASSERT_OK(server);
  EXPECT_EQ(Must(HttpRequest((*server)->port(), "GET", "/healthz")).status, 200);
}

// Runs `promtool check metrics` with `text` on stdin; returns its exit
// status (as from waitpid) and puts its combined output in *output.
int Promtool(const std::string& text, std::string* output) {
  char path[] = "/tmp/nsmd_promtool_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  close(fd);
  std::ofstream(path) << text;
  const std::string command = absl::StrCat("/usr/bin/promtool check metrics < ", path, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  const int status = pclose(pipe);
  unlink(path);
  return status;
}

TEST(HttpServerTest, MetricsPassPromtoolLint) {
  PipelineProbe probe;
  probe.OnConsumed(3);
  probe.OnApplied();
  probe.OnRejected(RejectReason::kMissingName);
  probe.OnCheckpoint(absl::Milliseconds(12), 100);
  probe.SetLag({{{"events", PartitionId(0)}, 4}});
  probe.SetStreamTime(EventTime(1704067200000));
  probe.SetReady(true);

  auto publisher = std::make_shared<SnapshotPublisher>();
  auto snapshot = std::make_shared<MetricsSnapshot>();
  SeriesSample a;
  a.metric = "wau";
  a.window = "current";
  a.labels = {{"plan", "pro"}, {"country", "DE"}};
  a.window_start_ms = 1704067200000;
  a.value = 7;
  SeriesSample b = a;
  b.window = "previous";
  b.window_start_ms = 1703462400000;
  b.value = 5;
  SeriesSample c;
  c.metric = "signups";
  c.window = "current";
  c.value = 0.5;
  snapshot->samples = {a, b, c};
  auto defs = std::make_shared<std::vector<MetricDefinition>>(2);
  (*defs)[0].name = "wau";
  (*defs)[0].metadata.role = MetricRole::kNorthStar;
  (*defs)[0].metadata.inputs = {"signups"};
  (*defs)[0].metadata.description = "Weekly \"active\" users";
  (*defs)[1].name = "signups";
  publisher->Publish(defs, snapshot);

  HttpServer::Handlers handlers;
  handlers.collectables = {probe.registry(), std::make_shared<NsmCollectable>(publisher)};
  auto server = HttpServer::Start(Loopback(), std::move(handlers));
  ASSERT_OK(server);
  HttpResponse r = Must(HttpRequest((*server)->port(), "GET", "/metrics"));
  ASSERT_EQ(r.status, 200);
  ASSERT_THAT(r.body, HasSubstr(R"(nsmd_checkpoint_duration_seconds_bucket{le="0.025"} 1)"));
  ASSERT_THAT(
      r.body,
      HasSubstr(R"(nsm_metric_value{metric="wau",window="current",plan="pro",country="DE"} 7)"));

  std::string output;
  const int status = Promtool(r.body, &output);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output << "\n" << r.body;
  EXPECT_EQ(output, "") << r.body;
}

TEST(HttpServerTest, StatusPageIsHtmlOnRoot) {
  HttpServer::Handlers handlers;
  handlers.status_page = [] { return std::string("<!DOCTYPE html><p>hi</p>"); };
  auto server = HttpServer::Start(Loopback(), std::move(handlers));
  ASSERT_TRUE(server.ok()) << server.status();
  HttpResponse r = Must(HttpRequest((*server)->port(), "GET", "/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!DOCTYPE html><p>hi</p>");
  EXPECT_THAT(RawGet((*server)->port(), "/"),
              HasSubstr("Content-Type: text/html; charset=utf-8\r\n"));
  EXPECT_EQ(Must(HttpRequest((*server)->port(), "POST", "/")).status, 405);
}

}  // namespace
}  // namespace nsmd
