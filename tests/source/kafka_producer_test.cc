// KafkaProducer against the embedded broker, over TCP: failed deliveries are
// kept and produced again, never dropped; a full queue is waited on for a
// bounded time; secrets are recognised by property name.
#include "daemon/source/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/source/kafka_secrets.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Stored {
  std::string key;
  std::string payload;
  Headers headers;
};

class KafkaProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start();
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    ASSERT_OK(broker_->CreateTopic("dlq", 1));
  }

  std::unique_ptr<KafkaProducer> Producer(std::map<std::string, std::string> properties) {
    // Reconnect quickly once the broker is back.
    properties["reconnect.backoff.ms"] = "50";
    properties["reconnect.backoff.max.ms"] = "200";
    auto producer = KafkaProducer::Create(broker_->bootstrap_servers(), properties);
    EXPECT_OK(producer);
    return producer.ok() ? std::move(*producer) : nullptr;
  }

  // Flushes until OK (or 60 s): the broker is up again, so every kept
  // message gets through within a few attempts.
  static absl::Status FlushUntilDelivered(KafkaProducer* producer) {
    absl::Status s;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    do {
      s = producer->Flush(absl::Seconds(5));
    } while (!s.ok() && absl::Now() < deadline);
    return s;
  }

  // Every message of partition 0 of `topic`, read up to its high watermark.
  std::vector<Stored> ReadAll(const std::string& topic) {
    std::vector<Stored> out;
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap_servers().c_str(), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", "reader", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == nullptr) {
      ADD_FAILURE() << err;
      return out;
    }
    int64_t low = -1;
    int64_t high = -1;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), 0, &low, &high, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (static_cast<int64_t>(out.size()) < high && absl::Now() < deadline) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        Stored s;
        if (m->key != nullptr) s.key.assign(static_cast<const char*>(m->key), m->key_len);
        s.payload.assign(static_cast<const char*>(m->payload), m->len);
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name;
          const void* value;
          size_t size;
          for (size_t i = 0;
               rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i) {
            s.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
          }
        }
        out.push_back(std::move(s));
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    EXPECT_EQ(static_cast<int64_t>(out.size()), high);
    return out;
  }

  std::unique_ptr<EmbeddedBroker> broker_;
};

TEST_F(KafkaProducerTest, FailedDeliveryIsKeptAndDeliveredByALaterFlush) {
  // A queued message fails after 1 s without a broker.
  std::unique_ptr<KafkaProducer> producer = Producer({{"message.timeout.ms", "1000"}});
  ASSERT_NE(producer, nullptr);
  ASSERT_OK(broker_->SetDown(true));
  ASSERT_OK(producer->ProduceWithHeaders("dlq", "key-1", "payload-1",
                                         {{"nsmd-reject-reason", "invalid_json"}}));
  absl::Status s = producer->Flush(absl::Seconds(20));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), "1 message(s) not delivered yet")) << s;
  EXPECT_EQ(producer->kept(), 1u);
  // A second Flush produces it again; still no broker, so still an error
  // (a Flush that forgot the failure would say OK here and drop it).
  s = producer->Flush(absl::Seconds(20));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_EQ(producer->kept(), 1u);

  ASSERT_OK(broker_->SetDown(false));
  s = FlushUntilDelivered(producer.get());
  ASSERT_OK(s);
  EXPECT_EQ(producer->kept(), 0u);
  // The broker never took it while down: exactly one copy, key and headers
  // intact.
  std::vector<Stored> stored = ReadAll("dlq");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].key, "key-1");
  EXPECT_EQ(stored[0].payload, "payload-1");
  EXPECT_EQ(stored[0].headers, (Headers{{"nsmd-reject-reason", "invalid_json"}}));
}

TEST_F(KafkaProducerTest, FullQueueWaitIsBoundedAndTheMessageIsKept) {
  // Room for one message, which stays queued while the broker is down.
  std::unique_ptr<KafkaProducer> producer =
      Producer({{"queue.buffering.max.messages", "1"}, {"message.timeout.ms", "120000"}});
  ASSERT_NE(producer, nullptr);
  ASSERT_OK(broker_->SetDown(true));
  ASSERT_OK(producer->Produce("dlq", "k", "first"));
  // No room: returns (after KafkaProducer::kQueueFullWait) instead of
  // waiting forever, and keeps the message.
  absl::Status s = producer->Produce("dlq", "k", "second");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "kept to produce again at the next flush")) << s;
  EXPECT_EQ(producer->kept(), 1u);

  ASSERT_OK(broker_->SetDown(false));
  s = FlushUntilDelivered(producer.get());
  ASSERT_OK(s);
  std::vector<Stored> stored = ReadAll("dlq");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].payload, "first");
  EXPECT_EQ(stored[1].payload, "second");
  EXPECT_EQ(stored[1].key, "k");
}

TEST(KafkaSecretsTest, OnlySecretPropertiesAreRedacted) {
  EXPECT_TRUE(IsSecretKafkaProperty("sasl.password"));
  EXPECT_TRUE(IsSecretKafkaProperty("ssl.key.password"));
  EXPECT_TRUE(IsSecretKafkaProperty("ssl.keystore.password"));
  EXPECT_TRUE(IsSecretKafkaProperty("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(IsSecretKafkaProperty("sasl.oauthbearer.config"));
  EXPECT_TRUE(IsSecretKafkaProperty("ssl.key.pem"));
  EXPECT_TRUE(IsSecretKafkaProperty("ssl_key"));
  EXPECT_FALSE(IsSecretKafkaProperty("sasl.username"));
  EXPECT_FALSE(IsSecretKafkaProperty("sasl.mechanism"));
  EXPECT_FALSE(IsSecretKafkaProperty("security.protocol"));
  const std::map<std::string, std::string> properties = {
      {"sasl.mechanism", "OAUTHBEARER"},
      {"sasl.oauthbearer.config", "principal=s3cr3t"},
      {"client.id", "nsmd"},
      {"sasl.password", ""}};  // empty values are never "found"
  EXPECT_EQ(RedactKafkaSecrets("nsmd: Failed to acquire SASL OAUTHBEARER token: Unrecognized "
                               "sasl.oauthbearer.config beginning at: principal=s3cr3t",
                               properties),
            "nsmd: Failed to acquire SASL OAUTHBEARER token: Unrecognized "
            "sasl.oauthbearer.config beginning at: <redacted>");
}

}  // namespace
}  // namespace nsmd
