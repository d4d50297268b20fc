// A real Prometheus (Debian's prometheus 2.42) scrapes nsmd over mTLS with
// basic auth, configured as an operator would: tls_config (CA, client
// certificate) and basic_auth in its scrape config.
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_harness.h"
#include "tests/testing/http_client.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/test_pki.h"

namespace nsmd {
namespace {

// crypt_blowfish's published bcrypt vector: "U*U" with cost 5.
constexpr char kUHash[] = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

TEST(PrometheusTlsTest, PrometheusScrapesNsmdOverMutualTlsWithBasicAuth) {
  const std::filesystem::path dir = testing::MakeTempDir("nsmd-prometheus-tls");
  auto pki = testing::MakeTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.status();
  std::string bootstrap;
  auto broker = testing::StartBroker("events", 1, &bootstrap);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const int port = testing::FreePort();
  // clang-format off
  const std::string tls = absl::StrCat(R"(  tls:
    cert_file: )", pki->server_crt, R"(
    key_file: )", pki->server_key, R"(
    client_ca_file: )", pki->ca_crt, R"(
    min_version: TLS12
  basic_auth:
    users:
      prometheus: ")", kUHash, R"("
)");
  // clang-format on
  const std::string config = testing::WriteRunConfig(dir, bootstrap, "prometheus-tls", port, tls,
                                                     testing::kEditsAndEditorsMetrics);
  auto nsmd = testing::StartNsmd(config);
  ASSERT_TRUE(nsmd.ok()) << nsmd.status();

  const int prometheus_port = testing::FreePort();
  const std::string prometheus_config = (dir / "prometheus.yml").string();
  // clang-format off
  std::ofstream(prometheus_config) << absl::StrCat(R"(
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: nsmd
    scheme: https
    tls_config:
      ca_file: )", pki->ca_crt, R"(
      cert_file: )", pki->client_crt, R"(
      key_file: )", pki->client_key, R"(
      server_name: localhost
    basic_auth:
      username: prometheus
      password: "U*U"
    static_configs:
      - targets: ["127.0.0.1:)", port, R"("]
)");
  // clang-format on
  auto prometheus = testing::Subprocess::Start(
      {"/usr/bin/prometheus", absl::StrCat("--config.file=", prometheus_config),
       absl::StrCat("--storage.tsdb.path=", (dir / "tsdb").string()),
       absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port), "--log.level=warn"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // Prometheus's own view: the target is up, and it stored nsmd's series.
  const std::string query = "/api/v1/query?query=nsmd_build_info%20*%20on(instance)%20up";
  std::string last;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  bool up = false;
  while (!up && absl::Now() < deadline) {
    auto r = testing::HttpRequest(prometheus_port, "GET", query);
    last = r.ok() ? r->body : r.status().ToString();
    // The product is 1 only when up is 1 and the scrape delivered nsmd's own
    // metric.
    up = absl::StrContains(last, absl::StrCat(R"({"instance":"127.0.0.1:)", port, R"("})")) &&
         absl::StrContains(last, R"(,"1"])");
    if (!up) absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_TRUE(up) << last;
  auto targets = testing::HttpRequest(prometheus_port, "GET", "/api/v1/targets");
  ASSERT_TRUE(targets.ok());
  EXPECT_TRUE(absl::StrContains(targets->body, R"("health":"up")")) << targets->body;
  EXPECT_TRUE(absl::StrContains(targets->body, R"("scrapeUrl":"https://127.0.0.1:)"))
      << targets->body;
  // Prometheus never failed authentication.
  auto failures = testing::HttpRequest(prometheus_port, "GET",
                                       "/api/v1/query?query=sum(nsmd_http_auth_failures_total)");
  ASSERT_TRUE(failures.ok());
  EXPECT_TRUE(absl::StrContains(failures->body, R"(,"0"])")) << failures->body;

  prometheus->reset();
  ASSERT_TRUE(testing::StopGracefully(**nsmd, absl::Seconds(30)).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nsmd
