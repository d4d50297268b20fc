// Stalled clients against a real nsmd: 50 connections that send an
// incomplete request must not keep /healthz and /metrics from answering,
// and are closed after http.request_timeout. (civetweb with 4 worker
// threads and a 30 s request timeout, before libmicrohttpd, failed this.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"

namespace nsmd {
namespace {

// A socket to 127.0.0.1:port whose reads give up after `timeout_s` seconds.
int Connect(int port, int timeout_s) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The response to GET path, or "" if none came within 5 s (a liveness
// probe's budget is 1 s; five times that is well beyond any healthy answer).
std::string GetWithin5s(int port, const std::string& path) {
  const int fd = Connect(port, 5);
  if (fd < 0) return "";
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\n\r\n");
  std::string response;
  if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
    if (n < 0) response.clear();  // timed out: no complete answer
  }
  close(fd);
  return response;
}

TEST(SlowClientsTest, FiftyStalledConnectionsNeitherStallProbesNorStayOpen) {
  const std::filesystem::path dir = testing::MakeTempDir("nsmd-slow-clients");
  std::string bootstrap;
  auto broker = testing::StartBroker("events", 1, &bootstrap);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const int port = testing::FreePort();
  const std::string config =
      testing::WriteRunConfig(dir, bootstrap, "slow-clients", port, "  request_timeout: 2s\n",
                              testing::kEditsAndEditorsMetrics);
  auto nsmd = testing::StartNsmd(config);
  ASSERT_TRUE(nsmd.ok()) << nsmd.status();
  ASSERT_TRUE(testing::AwaitHttpStatus(port, "/healthz", 200).ok());

  std::vector<int> stalled;
  const std::string partial = "GET /metrics HTTP/1.1\r\nHost: nsmd\r\n";  // no blank line
  for (int i = 0; i < 50; ++i) {
    const int fd = Connect(port, 30);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
    stalled.push_back(fd);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(absl::StartsWith(GetWithin5s(port, "/healthz"), "HTTP/1.1 200 OK\r\n"));
    const std::string metrics = GetWithin5s(port, "/metrics");
    EXPECT_TRUE(absl::StartsWith(metrics, "HTTP/1.1 200 OK\r\n")) << metrics;
    EXPECT_TRUE(absl::StrContains(metrics, "\nnsmd_build_info{")) << metrics;
  }
  // Each stalled connection is closed by nsmd (EOF or reset) before the
  // 30 s read timeout; nothing of a response was sent on it.
  for (int fd : stalled) {
    char buf[256];
    const ssize_t n = read(fd, buf, sizeof(buf));
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET))
        << "read gave " << n << (n < 0 ? absl::StrCat(", ", strerror(errno)) : "");
    close(fd);
  }
  ASSERT_TRUE(testing::StopGracefully(**nsmd, absl::Seconds(30)).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nsmd
