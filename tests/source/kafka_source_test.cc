// KafkaSource and KafkaProducer against the embedded broker, over TCP.
#include "daemon/source/kafka_source.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "daemon/source/embedded_broker.h"
#include "daemon/source/kafka_producer.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start();
    ASSERT_OK(broker);
    broker_ = std::move(*broker);
    auto producer = KafkaProducer::Create(broker_->bootstrap_servers(), {});
    ASSERT_OK(producer);
    producer_ = std::move(*producer);
  }

  // Options of a source of `topic` in `group` on this broker, resuming at
  // `checkpoint` (partitions rediscovered every 100 ms with kAllPartitions).
  KafkaSource::Options SourceOptions(const std::string& topic, const std::string& group,
                                     std::vector<SourceOffset> checkpoint = {},
                                     PartitionAssignment assignment = PartitionAssignment::kGroup) {
    KafkaSource::Options o;
    o.brokers = broker_->bootstrap_servers();
    o.group_id = group;
    o.topics = {topic};
    o.assignment = assignment;
    o.discovery_interval = absl::Milliseconds(100);
    o.on_assign = [checkpoint](const std::vector<TopicPartitionId>&) { return checkpoint; };
    return o;
  }

  std::unique_ptr<KafkaSource> Consumer(
      const std::string& topic, const std::string& group, std::vector<SourceOffset> checkpoint = {},
      PartitionAssignment assignment = PartitionAssignment::kGroup) {
    auto source =
        KafkaSource::Create(SourceOptions(topic, group, std::move(checkpoint), assignment));
    EXPECT_OK(source);
    return source.ok() ? std::move(*source) : nullptr;
  }

  // Polls until `n` messages arrived (or 30 s): payloads by partition, in order.
  std::map<int32_t, std::vector<std::pair<int64_t, std::string>>> Read(KafkaSource* source, int n) {
    std::map<int32_t, std::vector<std::pair<int64_t, std::string>>> out;
    int got = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (got < n && absl::Now() < deadline) {
      auto polled = source->Poll(1000, absl::Milliseconds(100), [&](const SourceMessage& m) {
        out[m.partition.value()].emplace_back(m.offset.value(), std::string(m.payload));
      });
      EXPECT_OK(polled);
      got += polled.ok() ? *polled : 0;
    }
    return out;
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<KafkaProducer> producer_;
};

TEST_F(KafkaSourceTest, ReadsEveryMessageOfEveryPartitionInOrder) {
  ASSERT_OK(broker_->CreateTopic("t4", 4));
  std::multiset<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    const std::string payload = absl::StrCat("message-", i);
    ASSERT_OK(producer_->Produce("t4", absl::StrCat("key-", i % 17), payload));
    sent.insert(payload);
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  auto source = Consumer("t4", "g1");
  auto read = Read(source.get(), 100);
  std::multiset<std::string> received;
  for (const auto& [partition, messages] : read) {
    // Offsets of each partition are 0, 1, 2, ... with no gap.
    for (size_t i = 0; i < messages.size(); ++i) {
      EXPECT_EQ(messages[i].first, static_cast<int64_t>(i)) << "partition " << partition;
      received.insert(messages[i].second);
    }
  }
  EXPECT_EQ(received, sent);
  EXPECT_EQ(source->Assignment().size(), 4u);
  EXPECT_TRUE(source->Connected());
  source->Close();
}

TEST_F(KafkaSourceTest, AssignResumesAtTheCheckpointedOffset) {
  ASSERT_OK(broker_->CreateTopic("t1", 1));
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(producer_->Produce("t1", "k", absl::StrCat("m", i)));
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  // The state says messages 0..6 are applied: the next to read is 7.
  auto source = Consumer("t1", "g2", {{"t1", PartitionId(0), KafkaOffset(7)}});
  auto read = Read(source.get(), 3);
  ASSERT_EQ(read[0].size(), 3u);
  EXPECT_EQ(read[0][0], std::make_pair(int64_t{7}, std::string("m7")));
  EXPECT_EQ(read[0][2], std::make_pair(int64_t{9}, std::string("m9")));
  // Lag: high watermark 10, position 10.
  auto lag = source->Lag();
  ASSERT_EQ(lag.size(), 1u);
  EXPECT_EQ(lag[0].second, 0);
}

TEST_F(KafkaSourceTest, UnreadNamesPartitionsWithNoCheckpointAndNothingPolled) {
  ASSERT_OK(broker_->CreateTopic("t2", 2));
  // Partition 0 has a checkpoint (resume at 0); partition 1 has none.
  auto source = Consumer("t2", "g5", {{"t2", PartitionId(0), KafkaOffset(0)}});
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (source->Assignment().size() < 2 && absl::Now() < deadline) {
    ASSERT_OK(source->Poll(10, absl::Milliseconds(100), [](const SourceMessage&) {}));
  }
  ASSERT_EQ(source->Assignment().size(), 2u);
  EXPECT_EQ(source->Unread(), (std::vector<TopicPartitionId>{{"t2", PartitionId(1)}}));
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(producer_->Produce("t2", absl::StrCat("key-", i), "m"));
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  ASSERT_EQ(Read(source.get(), 40).size(), 2u);  // both partitions got messages
  EXPECT_TRUE(source->Unread().empty());
  source->Close();
}

TEST_F(KafkaSourceTest, NoCheckpointStartsFromEarliestNotFromTheGroupsCommit) {
  ASSERT_OK(broker_->CreateTopic("t1", 1));
  for (int i = 0; i < 5; ++i) ASSERT_OK(producer_->Produce("t1", "k", absl::StrCat("m", i)));
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  {
    auto first = Consumer("t1", "g3");
    ASSERT_EQ(Read(first.get(), 5)[0].size(), 5u);
    ASSERT_OK(first->CommitOffsets({{"t1", PartitionId(0), KafkaOffset(5)}}));
    first->Close();
  }
  // The group committed 5, but this instance has no state for t1/0: it must
  // read from the start (its state must reflect every message).
  auto second = Consumer("t1", "g3");
  auto read = Read(second.get(), 5);
  ASSERT_EQ(read[0].size(), 5u);
  EXPECT_EQ(read[0][0].first, 0);
}

TEST_F(KafkaSourceTest, RefusedPropertyIsNamedWithoutItsValue) {
  KafkaSource::Options o;
  o.brokers = broker_->bootstrap_servers();
  o.group_id = "g";
  o.topics = {"t"};
  o.properties = {{"sasl.password", "s3cr3t-password"}, {"security.protocol", "s3cr3t-value"}};
  auto source = KafkaSource::Create(std::move(o));
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("security.protocol"), std::string::npos);
  EXPECT_EQ(source.status().message().find("s3cr3t"), std::string::npos) << source.status();
}

constexpr PartitionAssignment kAll = PartitionAssignment::kAllPartitions;

// Payloads read, by partition.
std::map<int32_t, std::vector<std::string>> Payloads(
    const std::map<int32_t, std::vector<std::pair<int64_t, std::string>>>& read) {
  std::map<int32_t, std::vector<std::string>> out;
  for (const auto& [partition, messages] : read) {
    for (const auto& [offset, payload] : messages) out[partition].push_back(payload);
  }
  return out;
}

TEST_F(KafkaSourceTest, AllPartitionsAreAssignedWithoutAGroupAndResumeAtTheirCheckpoints) {
  ASSERT_OK(broker_->CreateTopic("t3", 3));
  for (int i = 0; i < 60; ++i) {
    ASSERT_OK(producer_->Produce("t3", absl::StrCat("key-", i), absl::StrCat("m", i)));
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  // With no checkpoint: every partition, every message, from offset 0.
  auto first = Consumer("t3", "g6", {}, kAll);
  auto all = Read(first.get(), 60);
  EXPECT_EQ(first->Assignment(),
            (std::vector<TopicPartitionId>{
                {"t3", PartitionId(0)}, {"t3", PartitionId(1)}, {"t3", PartitionId(2)}}));
  size_t total = 0;
  for (const auto& [partition, messages] : all) total += messages.size();
  EXPECT_EQ(total, 60u);
  // Partition 1 checkpointed at 2 (its first two applied): a second instance
  // reads partition 1 from offset 2 and the others whole, 58 messages. The
  // first is still open in the same group: had either joined it, the group
  // would split the partitions between them.
  ASSERT_GE(all[1].size(), 3u) << "60 keys put fewer than 3 on partition 1";
  auto second = Consumer("t3", "g6", {{"t3", PartitionId(1), KafkaOffset(2)}}, kAll);
  auto resumed = Read(second.get(), 58);
  ASSERT_EQ(resumed[1].size(), all[1].size() - 2);
  EXPECT_EQ(resumed[1][0].first, 2);
  EXPECT_EQ(resumed[1][0].second, all[1][2].second);
  std::map<int32_t, std::vector<std::string>> expected = Payloads(all);
  expected[1].erase(expected[1].begin(), expected[1].begin() + 2);
  EXPECT_EQ(Payloads(resumed), expected);
  second->Close();
  first->Close();
}

TEST_F(KafkaSourceTest, AllPartitionsOfATopicCreatedAfterTheStartAreFound) {
  auto source = Consumer("late", "g7", {}, kAll);
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(source->Poll(10, absl::Milliseconds(100), [](const SourceMessage&) {}));
  }
  EXPECT_TRUE(source->Assignment().empty());  // no such topic yet
  ASSERT_OK(broker_->CreateTopic("late", 2));
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(producer_->Produce("late", absl::StrCat("key-", i), "m"));
  }
  ASSERT_OK(producer_->Flush(absl::Seconds(10)));
  auto read = Read(source.get(), 20);
  EXPECT_EQ(read.size(), 2u);  // both partitions
  EXPECT_EQ(read[0].size() + read[1].size(), 20u);
  EXPECT_EQ(source->Assignment(),
            (std::vector<TopicPartitionId>{{"late", PartitionId(0)}, {"late", PartitionId(1)}}));
  source->Close();
}

// Statistics wait in librdkafka's queue until the next poll: ones taken
// while no broker was reachable (or, in nsmd, during a long state load) must
// not mark the source disconnected once a broker has answered since.
TEST_F(KafkaSourceTest, StatisticsTakenBeforeABrokerAnsweredDoNotMarkItDisconnected) {
  ASSERT_OK(broker_->CreateTopic("t5", 2));
  ASSERT_OK(broker_->SetDown(true));
  KafkaSource::Options o = SourceOptions("t5", "g8", {}, kAll);
  o.properties = {{"statistics.interval.ms", "100"}, {"reconnect.backoff.max.ms", "100"}};
  auto source = KafkaSource::Create(std::move(o));
  ASSERT_OK(source);
  // Nothing polls, so librdkafka queues a statistics report every 100 ms, each
  // with no broker up. Besides them only the all-brokers-down error and the
  // connection errors wait in the queue (one a second: librdkafka suppresses
  // identical ones in between), so 8 events hold at least 5 reports.
  constexpr int kQueued = 8;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       (*source)->PendingEvents() < kQueued && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(10))) {
  }
  ASSERT_GE((*source)->PendingEvents(), kQueued);
  ASSERT_OK(broker_->SetDown(false));
  // One poll: the topics' metadata answers, then the statistics are served.
  ASSERT_OK((*source)->Poll(10, absl::Milliseconds(10), [](const SourceMessage&) {}));
  ASSERT_EQ((*source)->Assignment(),
            (std::vector<TopicPartitionId>{{"t5", PartitionId(0)}, {"t5", PartitionId(1)}}))
      << "the metadata did not answer within the first poll";
  EXPECT_TRUE((*source)->Connected());
  (*source)->Close();
}

}  // namespace
}  // namespace nsmd
