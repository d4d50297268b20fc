// Which kafka.properties hold secrets, and redacting them from text.
#ifndef NSMD_DAEMON_SOURCE_KAFKA_SECRETS_H_
#define NSMD_DAEMON_SOURCE_KAFKA_SECRETS_H_

#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace nsmd {

// True if librdkafka property `name` holds a secret: its name contains
// "password" or "secret" (sasl.password, ssl.key.password,
// ssl.keystore.password, sasl.oauthbearer.client.secret), ends in ".pem"
// (ssl.key.pem; certificates too, harmlessly), or is sasl.oauthbearer.config
// or ssl_key. Case-sensitive, as librdkafka's names are.
bool IsSecretKafkaProperty(absl::string_view name);

// `text` with every non-empty value of a secret property of `properties`
// replaced by "<redacted>"; the values of other properties stay readable.
std::string RedactKafkaSecrets(absl::string_view text,
                               const std::map<std::string, std::string>& properties);

}  // namespace nsmd

#endif  // NSMD_DAEMON_SOURCE_KAFKA_SECRETS_H_
