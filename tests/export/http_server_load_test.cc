// HttpServer under hostile and heavy load: the connection cap, clients that
// never read, and many concurrent scrapers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/export/http_server.h"
#include "daemon/export/nsm_collectable.h"
#include "daemon/export/snapshot_publisher.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace nsmd {
namespace {

using ::nsmd::testing::HttpRequest;
using ::nsmd::testing::PrometheusValue;

// A connected socket to 127.0.0.1:port whose reads give up after 20 s (far
// beyond the timeouts under test: reaching it means the server stalled).
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the server closes the connection; false if the read timed out
// (the server kept it open). Data the server sends first is skipped.
bool ClosedByServer(int fd) {
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

// The value of a metric of the server's own on a fresh /metrics scrape.
double Scraped(int port, const std::string& series) {
  auto r = HttpRequest(port, "GET", "/metrics");
  if (!r.ok() || r->status != 200) return -1;
  return PrometheusValue(r->body, series).value_or(-1);
}

TEST(HttpServerLoadTest, ConnectionsBeyondTheCapAreClosedAtOnce) {
  HttpServer::Options options;
  options.listen = "127.0.0.1:0";
  options.threads = 1;  // one loop: connections are accepted in order
  options.max_connections = 8;
  auto server = HttpServer::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::vector<int> idle;
  for (int i = 0; i < 7; ++i) idle.push_back(Connect(port));
  // The scrape is the 8th connection: all 7 idle ones have been accepted.
  ASSERT_EQ(Scraped(port, "nsmd_http_connections"), 8);
  // The cap is reached while 8 are open: hold 8, then a 9th is refused.
  idle.push_back(Connect(port));
  const int extra = Connect(port);
  ASSERT_GE(extra, 0);
  EXPECT_TRUE(ClosedByServer(extra));
  close(extra);
  // Freeing one slot lets a client in again.
  close(idle.back());
  idle.pop_back();
  // Until the server has seen that close, a scrape is refused too; each
  // refusal is counted.
  double refused = -1;
  int refused_scrapes = 0;
  for (int i = 0; i < 500 && refused < 0; ++i) {
    refused = Scraped(port, "nsmd_http_connections_refused_total");
    if (refused < 0) {
      ++refused_scrapes;
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  EXPECT_EQ(refused, 1 + refused_scrapes);
  for (int fd : idle) close(fd);
}

TEST(HttpServerLoadTest, IdleAndNonReadingClientsAreClosedAfterTheTimeout) {
  // An exposition (about 6 MB) larger than the socket buffers (at most
  // 4 MiB each way by Linux's defaults) of a client that never reads: the
  // server's writes stall.
  auto publisher = std::make_shared<SnapshotPublisher>();
  auto snapshot = std::make_shared<MetricsSnapshot>();
  for (int i = 0; i < 60000; ++i) {
    SeriesSample s;
    s.metric = "wau";
    s.window = "current";
    s.labels = {{"team", absl::StrCat("team-", i)}};
    s.value = i;
    snapshot->samples.push_back(s);
  }
  publisher->Publish(nullptr, snapshot);
  HttpServer::Options options;
  options.listen = "127.0.0.1:0";
  options.request_timeout = absl::Seconds(1);
  HttpServer::Handlers handlers;
  handlers.collectables = {std::make_shared<NsmCollectable>(publisher)};
  auto server = HttpServer::Start(options, std::move(handlers));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  const int incomplete = Connect(port);
  const std::string partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(write(incomplete, partial.data(), partial.size()),
            static_cast<ssize_t>(partial.size()));
  const int silent = Connect(port);  // sends nothing at all
  const int non_reader = Connect(port);
  int small = 4096;
  setsockopt(non_reader, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(write(non_reader, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  // Meanwhile other clients are served.
  EXPECT_EQ(HttpRequest(port, "GET", "/healthz")->status, 200);
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics")->status, 200);

  EXPECT_TRUE(ClosedByServer(incomplete));
  EXPECT_TRUE(ClosedByServer(silent));
  // The non-reader still has the response's tail in its socket buffers, so
  // it cannot see the close before reading them: the server's own count of
  // open connections shows it instead (the scraper itself is the only one).
  double open = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while ((open = Scraped(port, "nsmd_http_connections")) != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(open, 1);
  for (int fd : {incomplete, silent, non_reader}) close(fd);
}

TEST(HttpServerLoadTest, SixtyFourConcurrentScrapersSeeWholeConsistentSnapshots) {
  // Every snapshot holds 200 series, all with the same value v, published
  // as one; a scrape must see 200 series of one v, ending in a newline.
  constexpr int kSeries = 200;
  auto publisher = std::make_shared<SnapshotPublisher>();
  auto publish = [&publisher](int v) {
    auto snapshot = std::make_shared<MetricsSnapshot>();
    for (int i = 0; i < kSeries; ++i) {
      SeriesSample s;
      s.metric = "wau";
      s.window = "current";
      s.labels = {{"team", absl::StrCat("t", i)}};
      s.value = v;
      snapshot->samples.push_back(s);
    }
    publisher->Publish(nullptr, snapshot);
  };
  publish(0);
  HttpServer::Options options;
  options.listen = "127.0.0.1:0";
  HttpServer::Handlers handlers;
  handlers.collectables = {std::make_shared<NsmCollectable>(publisher)};
  auto server = HttpServer::Start(options, std::move(handlers));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();

  std::atomic<bool> stop{false};
  std::thread publisher_thread([&] {
    for (int v = 1; !stop; ++v) publish(v);
  });
  std::atomic<int> good{0};
  std::vector<std::thread> scrapers;
  std::vector<std::string> errors(64);
  for (int t = 0; t < 64; ++t) {
    scrapers.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = HttpRequest(port, "GET", "/metrics");
        if (!r.ok() || r->status != 200) {
          errors[t] = r.ok() ? absl::StrCat("status ", r->status) : r.status().ToString();
          return;
        }
        const double first =
            PrometheusValue(r->body, R"(nsm_metric_value{metric="wau",window="current",team="t0"})")
                .value_or(-1);
        int same = 0;
        for (int k = 0; k < kSeries; ++k) {
          const std::string series =
              absl::StrCat(R"(nsm_metric_value{metric="wau",window="current",team="t)", k, R"("})");
          same += PrometheusValue(r->body, series).value_or(-2) == first;
        }
        if (same != kSeries || r->body.back() != '\n') {
          errors[t] = absl::StrCat(same, " of ", kSeries, " series have the value ", first);
          return;
        }
        ++good;
      }
    });
  }
  for (auto& s : scrapers) s.join();
  stop = true;
  publisher_thread.join();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(errors[t], "") << "scraper " << t;
  EXPECT_EQ(good, 64 * 5);
}

}  // namespace
}  // namespace nsmd
