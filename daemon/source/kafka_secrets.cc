#include "daemon/source/kafka_secrets.h"

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace nsmd {

bool IsSecretKafkaProperty(absl::string_view name) {
  return absl::StrContains(name, "password") || absl::StrContains(name, "secret") ||
         absl::EndsWith(name, ".pem") || name == "sasl.oauthbearer.config" || name == "ssl_key";
}

std::string RedactKafkaSecrets(absl::string_view text,
                               const std::map<std::string, std::string>& properties) {
  std::string out(text);
  for (const auto& [name, value] : properties) {
    if (value.empty() || !IsSecretKafkaProperty(name)) continue;
    out = absl::StrReplaceAll(out, {{value, "<redacted>"}});
  }
  return out;
}

}  // namespace nsmd
