// The http section: timeouts, the connection cap, TLS and basic auth, with
// FILE:LINE:COL errors (columns counted by hand, 1-based).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/config/config_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/config/config_messages.h"

namespace nsmd {
namespace {

using ::testing::ElementsAre;

// crypt_blowfish's published bcrypt vector for "U*U".
constexpr char kHash[] = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

TEST(HttpConfigTest, EverySetting) {
  // clang-format off
  ConfigLoadResult r = ParseConfig(absl::StrCat(R"(http:
  listen: 127.0.0.1:9000
  request_timeout: 3s
  max_connections: 2000
  tls:
    cert_file: /etc/nsmd/tls.crt
    key_file: /etc/nsmd/tls.key
    client_ca_file: /etc/nsmd/ca.crt
    min_version: TLS13
  basic_auth:
    users:
      prometheus: ")", kHash, R"("
    exempt_healthz: true
)", kWau),
                                   "t.yaml");
  // clang-format on
  ASSERT_TRUE(r.config.has_value()) << r.diagnostics.front().ToString();
  const HttpConfig& h = r.config->http;
  EXPECT_EQ(h.listen, "127.0.0.1:9000");
  EXPECT_EQ(h.request_timeout, absl::Seconds(3));
  EXPECT_EQ(h.max_connections, 2000);
  ASSERT_TRUE(h.tls.has_value());
  EXPECT_EQ(h.tls->cert_file, "/etc/nsmd/tls.crt");
  EXPECT_EQ(h.tls->key_file, "/etc/nsmd/tls.key");
  EXPECT_EQ(h.tls->client_ca_file, "/etc/nsmd/ca.crt");
  EXPECT_EQ(h.tls->min_version, "TLS13");
  EXPECT_EQ(h.basic_auth_users, (std::map<std::string, std::string>{{"prometheus", kHash}}));
  EXPECT_TRUE(h.basic_auth_exempt_healthz);
}

TEST(HttpConfigTest, Defaults) {
  ConfigLoadResult r = ParseConfig(kWau, "t.yaml");
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->http.request_timeout, absl::Seconds(10));
  EXPECT_EQ(r.config->http.max_connections, 4096);
  EXPECT_FALSE(r.config->http.tls.has_value());
  EXPECT_TRUE(r.config->http.basic_auth_users.empty());
}

TEST(HttpConfigTest, Errors) {
  // clang-format off
  EXPECT_THAT(Messages(absl::StrCat(R"(http:
  request_timeout: 500ms
  max_connections: 0
  tls:
    cert_file: a.crt
    min_version: TLS10
  basic_auth:
    users:
      alice: plain
    exempt_healthz: maybe
)", kWau)),
              ElementsAre("t.yaml:2:20: http.request_timeout must be at least 1s",
                          "t.yaml:3:20: http.max_connections must be at least 1",
                          "t.yaml:5:5: http.tls needs key_file",
                          "t.yaml:6:18: http.tls.min_version must be TLS12 or TLS13, got \"TLS10\"",
                          "t.yaml:9:14: http.basic_auth.users.alice must be a bcrypt hash "
                          "($2y$..., e.g. from htpasswd -nBC 10 alice)",
                          "t.yaml:10:21: expected true or false for "
                          "http.basic_auth.exempt_healthz"));
  // clang-format on
}

}  // namespace
}  // namespace nsmd
