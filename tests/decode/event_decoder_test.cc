// Tests for EventDecoder with the Segment and Amplitude formats.
//
// Times: 2024-03-31T01:30:00Z is 1711848600000 ms (derived in
// iso_timestamp_test.cc: 19813 days * 86400 s + 5400 s).
#include "daemon/decode/event_decoder.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "daemon/decode/event.h"
#include "daemon/decode/event_format.h"
#include "daemon/decode/field_catalog.h"
#include "daemon/decode/reject_reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/testing/status_matchers.h"
#include "xxhash.h"

namespace nsmd {
namespace {

using ::testing::HasSubstr;
using Kind = FieldValue::Kind;

constexpr int64_t kMar31At0130Utc = 1711848600000;

class SegmentDecoderTest : public ::testing::Test {
 protected:
  SegmentDecoderTest() {
    user_ = catalog_.Intern("userId");
    plan_ = catalog_.Intern("properties.plan");
    group_ = catalog_.Intern("context.groupId");
    sku_ = catalog_.Intern("properties.items.1.sku");
    count_ = catalog_.Intern("properties.count");
    price_ = catalog_.Intern("properties.price");
    paid_ = catalog_.Intern("properties.paid");
    note_ = catalog_.Intern("properties.note");
    meta_ = catalog_.Intern("properties.meta");
    tags_ = catalog_.Intern("properties.tags");
    absent_ = catalog_.Intern("properties.absent");
    EventDecoderOptions options;
    // The wall clock the future check compares with: now_, which tests move.
    options.now = [this] { return now_; };
    decoder_ = std::make_unique<EventDecoder>(EventFormat::Segment(), &catalog_, options);
  }

  // Decodes `json`, expecting success.
  const Event& Ok(absl::string_view json) {
    const Event* event = nullptr;
    RejectReason reason = RejectReason::kOversized;
    absl::Status s = decoder_->Decode(json, &event, &reason);
    EXPECT_OK(s) << s << " for " << json;
    static const Event kEmpty;
    return event == nullptr ? kEmpty : *event;
  }

  // Decodes `json`, expecting a rejection; returns its message.
  std::string Rejected(absl::string_view json, RejectReason want) {
    const Event* event = nullptr;
    RejectReason reason = RejectReason::kOversized;
    absl::Status s = decoder_->Decode(json, &event, &reason);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_EQ(reason, want) << RejectReasonName(reason) << " for " << json;
    EXPECT_EQ(event, nullptr);
    return std::string(s.message());
  }

  absl::Time now_ = absl::FromUnixMillis(kMar31At0130Utc);
  FieldCatalog catalog_;
  FieldId user_, plan_, group_, sku_, count_, price_, paid_, note_, meta_, tags_, absent_;
  std::unique_ptr<EventDecoder> decoder_;
};

TEST_F(SegmentDecoderTest, TrackCall) {
  const Event& e = Ok(R"({"type":"track","event":"file_edited","userId":"u1",
      "messageId":"m-1","timestamp":"2024-03-31T03:30:00.250+02:00",
      "context":{"groupId":"acme"},
      "properties":{"plan":"pro","items":[{"sku":"a"},{"sku":"b"}],"count":3,
                    "price":9.5,"paid":true,"note":null,"meta":{"k":1},"tags":["x"]}})");
  EXPECT_EQ(e.name, "file_edited");
  EXPECT_EQ(e.time, EventTime(kMar31At0130Utc + 250));
  EXPECT_EQ(e.id, "m-1");
  ASSERT_EQ(e.fields.size(), 11u);
  EXPECT_EQ(e.field(user_).kind, Kind::kString);
  EXPECT_EQ(e.field(user_).str, "u1");
  EXPECT_EQ(e.field(plan_).str, "pro");
  EXPECT_EQ(e.field(group_).str, "acme");
  // items.1 is the second array element.
  EXPECT_EQ(e.field(sku_).kind, Kind::kString);
  EXPECT_EQ(e.field(sku_).str, "b");
  EXPECT_EQ(e.field(count_).kind, Kind::kNumber);
  EXPECT_EQ(e.field(count_).number, 3.0);
  EXPECT_EQ(e.field(price_).kind, Kind::kNumber);
  EXPECT_EQ(e.field(price_).number, 9.5);
  EXPECT_EQ(e.field(paid_).kind, Kind::kBool);
  EXPECT_TRUE(e.field(paid_).boolean);
  EXPECT_EQ(e.field(note_).kind, Kind::kNull);
  EXPECT_EQ(e.field(meta_).kind, Kind::kComposite);
  EXPECT_EQ(e.field(tags_).kind, Kind::kComposite);
  EXPECT_EQ(e.field(absent_).kind, Kind::kMissing);
  EXPECT_EQ(e.field(kNoField).kind, Kind::kMissing);
}

// XXH3-128 of `text` straight from xxhash, high 64 bits first.
absl::uint128 Xxh3(absl::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return absl::MakeUint128(h.high64, h.low64);
}

TEST_F(SegmentDecoderTest, HashesTheIdAndTheKeysOfTheFieldsItIsGiven) {
  EventDecoderOptions options;
  options.now = [this] { return now_; };
  options.hashed_fields = {user_, count_, paid_, note_, absent_, 99};  // 99: not in the catalog
  EventDecoder decoder(EventFormat::Segment(), &catalog_, options);
  const Event* e = nullptr;
  RejectReason reason;
  // clang-format off
  ASSERT_OK(decoder.Decode(R"({"type":"track","event":"x","userId":"u1","messageId":"m-1",
      "timestamp":"2024-03-31T01:30:00Z","properties":{"plan":"pro","count":3,"paid":true,
      "note":null}})", &e, &reason));
  // clang-format on
  EXPECT_TRUE(e->id_hashed);
  EXPECT_EQ(e->id_hash, Xxh3("m-1"));
  // Keys hash their canonical text: "u1", "3", "true".
  EXPECT_TRUE(e->field(user_).key_hashed);
  EXPECT_EQ(e->field(user_).key_hash, Xxh3("u1"));
  EXPECT_EQ(e->field(count_).key_hash, Xxh3("3"));
  EXPECT_EQ(e->field(paid_).key_hash, Xxh3("true"));
  // Null and missing values are no keys; plan is not in the list, and
  // KeyHash() computes its hash on demand.
  EXPECT_FALSE(e->field(note_).key_hashed);
  EXPECT_FALSE(e->field(absent_).key_hashed);
  EXPECT_FALSE(e->field(plan_).key_hashed);
  EXPECT_EQ(e->field(plan_).KeyHash(), Xxh3("pro"));
  EXPECT_EQ(e->field(user_).KeyHash(), Xxh3("u1"));
  // The next event (the same Event object reused): an integer id hashes its
  // decimal text, and a field that is now missing keeps no old hash.
  // clang-format off
  ASSERT_OK(decoder.Decode(R"({"type":"track","event":"x","anonymousId":"a7","messageId":42,
      "timestamp":"2024-03-31T01:30:00Z"})", &e, &reason));
  // clang-format on
  EXPECT_EQ(e->id_hash, Xxh3("42"));
  EXPECT_EQ(e->field(user_).key_hash, Xxh3("a7"));  // the user falls back to anonymousId
  EXPECT_FALSE(e->field(count_).key_hashed);
  ASSERT_OK(decoder.Decode(R"({"type":"track","event":"x","timestamp":"2024-03-31T01:30:00Z"})", &e,
                           &reason));
  EXPECT_FALSE(e->id_hashed);
}

TEST_F(SegmentDecoderTest, NonTrackCallsAreNamedByTheirType) {
  const Event& e = Ok(R"({"type":"group","groupId":"acme","userId":"u1",
      "timestamp":"2024-03-31T01:30:00Z"})");
  EXPECT_EQ(e.name, "group");
  EXPECT_EQ(e.time, EventTime(kMar31At0130Utc));
  EXPECT_EQ(e.id, "");
  EXPECT_EQ(Ok(R"({"type":"identify","timestamp":"2024-03-31T01:30:00Z"})").name, "identify");
  // An empty "event" falls through to "type" when that is not "track".
  EXPECT_EQ(Ok(R"({"type":"page","event":"","timestamp":"2024-03-31T01:30:00Z"})").name, "page");
}

TEST_F(SegmentDecoderTest, TrackWithoutEventIsMissingItsName) {
  EXPECT_EQ(Rejected(R"({"type":"track","timestamp":"2024-03-31T01:30:00Z"})",
                     RejectReason::kMissingName),
            "event name missing: a \"type\": \"track\" message needs a non-empty string "
            "\"event\"");
  Rejected(R"({"type":"track","event":"","timestamp":"2024-03-31T01:30:00Z"})",
           RejectReason::kMissingName);
  Rejected(R"({"type":"track","event":5,"timestamp":"2024-03-31T01:30:00Z"})",
           RejectReason::kMissingName);
}

TEST_F(SegmentDecoderTest, MissingName) {
  EXPECT_EQ(Rejected(R"({"timestamp":"2024-03-31T01:30:00Z"})", RejectReason::kMissingName),
            "event name missing (\"event\" or \"type\")");
  Rejected(R"({"event":"","type":"","timestamp":"2024-03-31T01:30:00Z"})",
           RejectReason::kMissingName);
  Rejected(R"({"event":null,"type":{"a":1},"timestamp":"2024-03-31T01:30:00Z"})",
           RejectReason::kMissingName);
}

TEST_F(SegmentDecoderTest, UserFallsBackToAnonymousId) {
  const char* kNoUser =
      R"({"event":"e","anonymousId":"anon-7","timestamp":"2024-03-31T01:30:00Z"})";
  EXPECT_EQ(Ok(kNoUser).field(user_).str, "anon-7");
  const char* kNullUser =
      R"({"event":"e","userId":null,"anonymousId":"anon-8","timestamp":"2024-03-31T01:30:00Z"})";
  EXPECT_EQ(Ok(kNullUser).field(user_).str, "anon-8");
  const char* kBoth =
      R"({"event":"e","userId":"u9","anonymousId":"anon-9","timestamp":"2024-03-31T01:30:00Z"})";
  EXPECT_EQ(Ok(kBoth).field(user_).str, "u9");
  // Neither: the user field is missing (null anonymousId is not a user).
  const char* kNeither =
      R"({"event":"e","userId":null,"anonymousId":null,"timestamp":"2024-03-31T01:30:00Z"})";
  EXPECT_EQ(Ok(kNeither).field(user_).kind, Kind::kNull);
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":"2024-03-31T01:30:00Z"})").field(user_).kind,
            Kind::kMissing);
}

TEST_F(SegmentDecoderTest, TimeFallsBackAlongTimePaths) {
  // timestamp absent (or null): originalTimestamp, then receivedAt.
  EXPECT_EQ(Ok(R"({"event":"e","originalTimestamp":"2024-03-31T01:30:00Z"})").time,
            EventTime(kMar31At0130Utc));
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":null,"receivedAt":"2024-03-31T01:30:01Z"})").time,
            EventTime(kMar31At0130Utc + 1000));
}

TEST_F(SegmentDecoderTest, EpochMillisecondNumbers) {
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":1711848600000})").time, EventTime(kMar31At0130Utc));
  // A fraction of a millisecond is truncated.
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":1711848600000.9})").time, EventTime(kMar31At0130Utc));
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0})").time, EventTime(0));
  // 253402300799999 is 9999-12-31T23:59:59.999Z (see iso_timestamp_test.cc),
  // accepted when the wall clock is there too (not in the future).
  now_ = absl::FromUnixMillis(253402300799999);
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":253402300799999})").time, EventTime(253402300799999));
}

TEST_F(SegmentDecoderTest, TimestampRejections) {
  EXPECT_EQ(Rejected(R"({"event":"e"})", RejectReason::kMissingTimestamp),
            "timestamp missing (\"timestamp\" or \"originalTimestamp\" or \"receivedAt\")");
  Rejected(R"({"event":"e","timestamp":null,"originalTimestamp":null})",
           RejectReason::kMissingTimestamp);
  EXPECT_EQ(
      Rejected(R"({"event":"e","timestamp":"2024-13-01T00:00:00Z"})", RejectReason::kBadTimestamp),
      "timestamp \"2024-13-01T00:00:00Z\" is not ISO-8601 or epoch milliseconds "
      "(month out of range)");
  // The first present path decides: a bad timestamp is not rescued by a
  // good originalTimestamp.
  Rejected(R"({"event":"e","timestamp":"2023-02-29T00:00:00Z",
               "originalTimestamp":"2024-03-31T01:30:00Z"})",
           RejectReason::kBadTimestamp);
  EXPECT_EQ(
      Rejected(R"({"event":"e","timestamp":"1969-12-31T23:59:59Z"})", RejectReason::kBadTimestamp),
      "timestamp \"1969-12-31T23:59:59Z\" is out of range (1970-01-01 to 9999-12-31 UTC)");
  // 9999-12-31T23:30:00 at UTC-01:00 is 10000-01-01T00:30:00Z.
  Rejected(R"({"event":"e","timestamp":"9999-12-31T23:30:00-01:00"})", RejectReason::kBadTimestamp);
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":-1})", RejectReason::kBadTimestamp),
            "timestamp -1 is out of range (epoch milliseconds of 1970-01-01 to 9999-12-31)");
  Rejected(R"({"event":"e","timestamp":253402300800000})", RejectReason::kBadTimestamp);
  Rejected(R"({"event":"e","timestamp":18446744073709551615})", RejectReason::kBadTimestamp);
  Rejected(R"({"event":"e","timestamp":1e300})", RejectReason::kBadTimestamp);
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":true})", RejectReason::kBadTimestamp),
            "timestamp at \"timestamp\" is a bool, not ISO-8601 or epoch milliseconds");
  Rejected(R"({"event":"e","timestamp":{"t":1}})", RejectReason::kBadTimestamp);
  Rejected(R"({"event":"e","timestamp":"1711848600000"})", RejectReason::kBadTimestamp);
}

TEST_F(SegmentDecoderTest, Ids) {
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"messageId":12345})").id, "12345");
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"messageId":-7})").id, "-7");
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"messageId":18446744073709551615})").id,
            "18446744073709551615");
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"messageId":null})").id, "");
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0})").id, "");
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"messageId":true})", RejectReason::kBadId),
            "id at \"messageId\" is a bool, not a string or an integer");
  Rejected(R"({"event":"e","timestamp":0,"messageId":1.5})", RejectReason::kBadId);
  Rejected(R"({"event":"e","timestamp":0,"messageId":{"a":"b"}})", RejectReason::kBadId);
  Rejected(R"({"event":"e","timestamp":0,"messageId":["a"]})", RejectReason::kBadId);
}

TEST_F(SegmentDecoderTest, FutureTimestamps) {
  // The clock is at 2024-03-31T01:30:00Z (kMar31At0130Utc); the default
  // max_future_skew is 1h = 3600000 ms, so 2024-03-31T02:30:00Z
  // (kMar31At0130Utc + 3600000 = 1711852200000) is the latest accepted time.
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":"2024-03-31T02:30:00Z"})").time,
            EventTime(kMar31At0130Utc + 3600000));
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":1711852200000})").time, EventTime(1711852200000));
  // Same instant with an offset: 04:30 at +02:00 is 02:30Z.
  Ok(R"({"event":"e","timestamp":"2024-03-31T04:30:00+02:00"})");
  // One millisecond later is rejected, in either form. (absl::FormatDuration
  // leaves out zero units: 1 h + 1 ms is "1h0.001s".)
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":1711852200001})", RejectReason::kFutureTimestamp),
            "timestamp 1711852200001 is 1h0.001s ahead of the wall clock "
            "(2024-03-31T01:30:00.000Z); events.max_future_skew allows 1h");
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":"2024-03-31T02:30:00.001Z"})",
                     RejectReason::kFutureTimestamp),
            "timestamp \"2024-03-31T02:30:00.001Z\" is 1h0.001s ahead of the wall clock "
            "(2024-03-31T01:30:00.000Z); events.max_future_skew allows 1h");
  // The year 9999 (valid, in range) is just far in the future.
  Rejected(R"({"event":"e","timestamp":"9999-12-31T23:59:59Z"})", RejectReason::kFutureTimestamp);
  // The past of any age is not the check's business (lateness is the engine's).
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0})").time, EventTime(0));
  // The clock is read per message: an hour later the same event is fine.
  now_ += absl::Hours(1);
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":1711852200001})").time, EventTime(1711852200001));
}

TEST(EventDecoderTest, MaxFutureSkewIsConfigurable) {
  FieldCatalog catalog;
  const absl::Time now = absl::FromUnixMillis(kMar31At0130Utc);
  const Event* e = nullptr;
  RejectReason reason = RejectReason::kOversized;
  EventDecoderOptions options;
  options.now = [now] { return now; };
  options.max_future_skew = absl::Minutes(5);
  EventDecoder five_minutes(EventFormat::Segment(), &catalog, options);
  // 01:35:00Z is exactly 5 minutes ahead: accepted; 01:35:01Z is not.
  EXPECT_OK(
      five_minutes.Decode(R"({"event":"e","timestamp":"2024-03-31T01:35:00Z"})", &e, &reason));
  absl::Status s =
      five_minutes.Decode(R"({"event":"e","timestamp":"2024-03-31T01:35:01Z"})", &e, &reason);
  EXPECT_EQ(reason, RejectReason::kFutureTimestamp);
  EXPECT_EQ(s.message(),
            "timestamp \"2024-03-31T01:35:01Z\" is 5m1s ahead of the wall clock "
            "(2024-03-31T01:30:00.000Z); events.max_future_skew allows 5m");
  // An infinite skew turns the check off.
  options.max_future_skew = absl::InfiniteDuration();
  EventDecoder unlimited(EventFormat::Segment(), &catalog, options);
  ASSERT_OK(unlimited.Decode(R"({"event":"e","timestamp":253402300799999})", &e, &reason));
  EXPECT_EQ(e->time, EventTime(253402300799999));
}

TEST(EventDecoderTest, WallClockIsReadOnlyPastThePreviousReadingPlusTheSkew) {
  FieldCatalog catalog;
  absl::Time now = absl::FromUnixMillis(kMar31At0130Utc);
  int reads = 0;
  EventDecoderOptions options;
  options.now = [&now, &reads] {
    ++reads;
    return now;
  };
  options.max_future_skew = absl::Minutes(5);
  EventDecoder decoder(EventFormat::Segment(), &catalog, options);
  const Event* e = nullptr;
  RejectReason reason = RejectReason::kOversized;
  auto decode = [&](absl::string_view json) { return decoder.Decode(json, &e, &reason).ok(); };
  // The first event reads the clock (01:30:00); the bound is then 01:35:00.
  EXPECT_TRUE(decode(R"({"event":"e","timestamp":"2024-03-31T01:00:00Z"})"));
  EXPECT_EQ(reads, 1);
  // Events up to the bound need no reading, even though the clock has moved.
  now += absl::Minutes(10);
  EXPECT_TRUE(decode(R"({"event":"e","timestamp":"2024-03-31T01:29:00Z"})"));
  EXPECT_TRUE(decode(R"({"event":"e","timestamp":"2024-03-31T01:35:00Z"})"));
  EXPECT_EQ(reads, 1);
  // Past it, the clock is read again (01:40:00): 01:45:00 is within 5 min
  // of it, 01:45:01 is not (and reads again, since it is past the new bound).
  EXPECT_TRUE(decode(R"({"event":"e","timestamp":"2024-03-31T01:45:00Z"})"));
  EXPECT_EQ(reads, 2);
  EXPECT_FALSE(decode(R"({"event":"e","timestamp":"2024-03-31T01:45:01Z"})"));
  EXPECT_EQ(reason, RejectReason::kFutureTimestamp);
  EXPECT_EQ(reads, 3);
}

TEST_F(SegmentDecoderTest, UserAndGroupIdsMustBeStringsOrIntegers) {
  // Accepted: strings and integers (as any field, an integer user is a number).
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"userId":42})").field(user_).number, 42.0);
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"anonymousId":-3})").field(user_).number, -3.0);
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"context":{"groupId":7}})").field(group_).number, 7.0);
  EXPECT_EQ(Ok(R"({"event":"e","timestamp":0,"context":{"groupId":null}})").field(group_).kind,
            Kind::kNull);
  // A valid userId decides; a bad anonymousId behind it is never the user.
  EXPECT_EQ(
      Ok(R"({"event":"e","timestamp":0,"userId":"u1","anonymousId":{"x":1}})").field(user_).str,
      "u1");
  // Rejected: the user path itself...
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"userId":{"id":"u1"}})", RejectReason::kBadId),
            "user id at \"userId\" is an object, not a string or an integer");
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"userId":true})", RejectReason::kBadId),
            "user id at \"userId\" is a bool, not a string or an integer");
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"userId":1.5})", RejectReason::kBadId),
            "user id at \"userId\" is a fractional number, not a string or an integer");
  // ...or the fallback standing in for a missing or null userId...
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"anonymousId":["a"]})", RejectReason::kBadId),
            "user id at \"anonymousId\" is an array, not a string or an integer");
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"userId":null,"anonymousId":false})",
                     RejectReason::kBadId),
            "user id at \"anonymousId\" is a bool, not a string or an integer");
  // ...and the group id.
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"context":{"groupId":{"id":"g"}}})",
                     RejectReason::kBadId),
            "group id at \"context.groupId\" is an object, not a string or an integer");
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"userId":"u","context":{"groupId":[1]}})",
                     RejectReason::kBadId),
            "group id at \"context.groupId\" is an array, not a string or an integer");
  // The message id is checked first.
  EXPECT_EQ(Rejected(R"({"event":"e","timestamp":0,"messageId":true,"userId":true})",
                     RejectReason::kBadId),
            "id at \"messageId\" is a bool, not a string or an integer");
}

TEST_F(SegmentDecoderTest, MessageLevelRejections) {
  Rejected("{", RejectReason::kInvalidJson);
  Rejected("", RejectReason::kInvalidJson);
  Rejected("{\"event\":\"e\",}", RejectReason::kInvalidJson);
  Rejected(std::string("{\"event\":\"\xff\"}"), RejectReason::kInvalidJson);  // not UTF-8
  Rejected(std::string("{\"a\":1}\0", 8), RejectReason::kInvalidJson);
  EXPECT_THAT(Rejected("nul", RejectReason::kInvalidJson), HasSubstr("not valid JSON"));
  EXPECT_EQ(Rejected("[1,2]", RejectReason::kNotObject), "message is an array, not a JSON object");
  Rejected("42", RejectReason::kNotObject);
  Rejected("\"track\"", RejectReason::kNotObject);
  Rejected("null", RejectReason::kNotObject);
}

// On-Demand parsing checks only what it reads; the decoder reads every value
// so that a message is invalid_json exactly when it is not JSON, whatever
// part of it is broken. None of these keys is a configured path.
TEST_F(SegmentDecoderTest, MalformedSkippedValuesAreInvalidJson) {
  const std::string head = R"({"event":"e","timestamp":0,"skipped":)";
  for (const char* bad : {
           R"({"x":[1,2,]})",  // trailing comma inside a nested array
           R"({"x" 1})",       // missing colon
           R"([1 2])",         // missing comma
           R"({"x":1)",        // unclosed object (the outer brace closes it)
           "tru",              // broken atoms
           "nul", "falsey",
           "01",  // numbers: a leading zero, nothing after
           "1.",  // the point, a lone sign, overflow
           "-", "1e999",
           "18446744073709551616",  // 2^64: beyond 64 bits
           R"("\q")",               // invalid escape
           R"("\ud800")",           // lone surrogate
           R"("\u12")",             // short \u escape
           "\"a\tb\"",              // raw control character (a tab) in a string
       }) {
    Rejected(head + bad + "}", RejectReason::kInvalidJson);
  }
  // A broken key, and a string followed by a colon instead of a comma.
  Rejected(R"({"event":"e","timestamp":0,"\q":1})", RejectReason::kInvalidJson);
  Rejected(R"({"event":"e","timestamp":0,"skipped":"a":1})", RejectReason::kInvalidJson);
  // The same position with valid values decodes (the test's control).
  EXPECT_EQ(Ok(head + R"({"x":[1,2]},"\u0041":"\ud83d\ude00"})").name, "e");
}

TEST_F(SegmentDecoderTest, TrailingContentIsInvalidJson) {
  const std::string event = R"({"event":"e","timestamp":0})";
  for (const char* tail : {" x", "}", "]", " {}", ",", " 1", " \"s\"", " null"}) {
    Rejected(event + tail, RejectReason::kInvalidJson);
  }
  Rejected("42 43", RejectReason::kInvalidJson);
  Rejected("[1] [2]", RejectReason::kInvalidJson);
  // Trailing whitespace is fine.
  EXPECT_EQ(Ok(event + " \n\t\r ").name, "e");
}

TEST_F(SegmentDecoderTest, EveryTruncationIsInvalidJson) {
  // The only '}' at depth 0 of an object is its last byte, so every proper
  // prefix of this message (including the empty one) is not JSON.
  const std::string full =
      R"({"event":"e","userId":"u","messageId":7,"timestamp":"2024-03-31T01:30:00Z",)"
      R"("context":{"groupId":"g"},"properties":{"items":[{"sku":"s"}],"n":1.5,"t":true}})";
  ASSERT_EQ(Ok(full).name, "e");
  for (size_t n = 0; n < full.size(); ++n) {
    Rejected(full.substr(0, n), RejectReason::kInvalidJson);
  }
}

TEST_F(SegmentDecoderTest, NestingDepthLimit) {
  // The root object is depth 1 and "d" depth 2, so n nested arrays put the
  // innermost at depth n + 1: 1023 arrays reach the limit of 1024 (simdjson's
  // default, as before), 1024 arrays exceed it.
  const std::string head = R"({"event":"e","timestamp":0,"d":)";
  EXPECT_EQ(Ok(head + std::string(1023, '[') + std::string(1023, ']') + "}").name, "e");
  Rejected(head + std::string(1024, '[') + std::string(1024, ']') + "}",
           RejectReason::kInvalidJson);
}

TEST_F(SegmentDecoderTest, FirstOfDuplicateKeysWins) {
  const Event& e = Ok(R"({"event":"first","event":"second","timestamp":0,"timestamp":"bad",
      "properties":{"plan":"a","plan":"b"},"properties":{"plan":"c","count":2}})");
  EXPECT_EQ(e.name, "first");
  EXPECT_EQ(e.time, EventTime(0));
  EXPECT_EQ(e.field(plan_).str, "a");
  // count only appears in the second "properties": not seen.
  EXPECT_EQ(e.field(count_).kind, Kind::kMissing);
  // A first duplicate that is a scalar hides a later object.
  EXPECT_EQ(
      Ok(R"({"event":"e","timestamp":0,"context":1,"context":{"groupId":"g"}})").field(group_).kind,
      Kind::kMissing);
}

TEST_F(SegmentDecoderTest, FieldsInAnyOrder) {
  // Everything the format and catalog need, in reverse of the usual order.
  const Event& e = Ok(R"({"properties":{"items":[{"sku":"a"},{"sku":"b"}],"plan":"pro"},
      "context":{"groupId":"g"},"userId":"u","messageId":"m","timestamp":1,"event":"x"})");
  EXPECT_EQ(e.name, "x");
  EXPECT_EQ(e.time, EventTime(1));
  EXPECT_EQ(e.id, "m");
  EXPECT_EQ(e.field(user_).str, "u");
  EXPECT_EQ(e.field(group_).str, "g");
  EXPECT_EQ(e.field(plan_).str, "pro");
  EXPECT_EQ(e.field(sku_).str, "b");
}

TEST(EventDecoderTest, ManySiblingKeysEachFindTheirOwnValue) {
  // 40 properties under one object (more than the decoder's 16 key buckets
  // per object, so buckets are shared), plus keys that agree in their first
  // 16 bytes and differ only after them or in length. Each value is its
  // key's number, written in reverse key order.
  FieldCatalog catalog;
  std::vector<FieldId> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(catalog.Intern(absl::StrCat("properties.p", i)));
  const FieldId long_a = catalog.Intern("properties.abcdefghijklmnop_a");
  const FieldId long_b = catalog.Intern("properties.abcdefghijklmnop_b");
  const FieldId long_ab = catalog.Intern("properties.abcdefghijklmnop_ab");
  EventDecoder decoder(EventFormat::Segment(), &catalog);
  std::string json = R"({"event":"e","timestamp":0,"properties":{)";
  for (int i = 39; i >= 0; --i) absl::StrAppend(&json, "\"p", i, "\":", i, ",");
  json += R"("abcdefghijklmnop_ab":3,"abcdefghijklmnop_b":2,"abcdefghijklmnop_a":1,"p7x":99}})";
  const Event* event = nullptr;
  RejectReason reason;
  ASSERT_OK(decoder.Decode(json, &event, &reason)) << json;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(event->field(ids[i]).kind, Kind::kNumber) << i;
    EXPECT_EQ(event->field(ids[i]).number, i) << i;
  }
  EXPECT_EQ(event->field(long_a).number, 1);
  EXPECT_EQ(event->field(long_b).number, 2);
  EXPECT_EQ(event->field(long_ab).number, 3);
}

TEST_F(SegmentDecoderTest, EscapedKeysAndValues) {
  // \u0065 is 'e', \u0061 'a', \u005a 'Z': the keys are "event" and "plan",
  // the timestamp is 2024-03-31T01:30:00Z.
  const Event& e = Ok(R"({"\u0065vent":"e\"1","timestamp":"2024-03-31T01:30:00\u005a",)"
                      R"("properties":{"pl\u0061n":"a\\b"}})");
  EXPECT_EQ(e.name, "e\"1");
  EXPECT_EQ(e.time, EventTime(kMar31At0130Utc));
  EXPECT_EQ(e.field(plan_).str, "a\\b");
}

TEST_F(SegmentDecoderTest, NumbersWithManyDigits) {
  // More than 19 significant digits take simdjson's slow path; the value is
  // the nearest double, as the compiler rounds the same literal.
  const Event& e = Ok(R"({"event":"e","timestamp":1711848600000.000000000001,"properties":)"
                      R"({"count":1234567890.1234567890123,"price":-0.12345678901234567890123}})");
  EXPECT_EQ(e.time, EventTime(kMar31At0130Utc));
  EXPECT_EQ(e.field(count_).number, 1234567890.1234567890123);
  EXPECT_EQ(e.field(price_).number, -0.12345678901234567890123);
}

TEST_F(SegmentDecoderTest, OversizedIsRejectedUnparsed) {
  // Not even JSON: the size check comes first.
  const std::string big(2000000, 'x');
  EXPECT_EQ(Rejected(big, RejectReason::kOversized),
            "message is 2000000 bytes, over the 1048576-byte limit");
  // Exactly at the limit is fine: {"event":"e","timestamp":0,"p":"xx..."}
  // has 32 bytes of syntax around the padding.
  const std::string head = R"({"event":"e","timestamp":0,"p":")";
  std::string at_limit = head + std::string((1 << 20) - head.size() - 2, 'y') + "\"}";
  ASSERT_EQ(at_limit.size(), 1u << 20);
  EXPECT_EQ(Ok(at_limit).name, "e");
}

TEST_F(SegmentDecoderTest, SecondMessageReplacesTheFirst) {
  const Event& first = Ok(R"({"event":"first_event","userId":"alice","messageId":11,
      "timestamp":"2024-03-31T01:30:00Z","properties":{"plan":"free","items":[1,{"sku":"s1"}]}})");
  EXPECT_EQ(first.name, "first_event");
  EXPECT_EQ(first.id, "11");
  EXPECT_EQ(first.field(sku_).str, "s1");
  const Event& second = Ok(R"({"event":"second","anonymousId":"bob","messageId":2,
      "timestamp":"2024-03-31T01:30:01Z","properties":{"plan":"enterprise"}})");
  EXPECT_EQ(second.name, "second");
  EXPECT_EQ(second.time, EventTime(kMar31At0130Utc + 1000));
  EXPECT_EQ(second.id, "2");
  EXPECT_EQ(second.field(user_).str, "bob");
  EXPECT_EQ(second.field(plan_).str, "enterprise");
  EXPECT_EQ(second.field(sku_).kind, Kind::kMissing);
  EXPECT_EQ(second.field(group_).kind, Kind::kMissing);
}

TEST_F(SegmentDecoderTest, RejectionThenSuccess) {
  Rejected(R"({"event":"e","timestamp":"bad"})", RejectReason::kBadTimestamp);
  const Event& e = Ok(R"({"event":"after","timestamp":1})");
  EXPECT_EQ(e.name, "after");
  EXPECT_EQ(e.time, EventTime(1));
}

TEST(EventDecoderTest, PathSegmentsAreKeysOrIndexes) {
  FieldCatalog catalog;
  const FieldId obj_digit = catalog.Intern("m.0");  // object member "0"
  const FieldId arr0 = catalog.Intern("a.0");       // first element
  const FieldId out_of_range = catalog.Intern("a.5");
  const FieldId through_scalar = catalog.Intern("s.x");
  const FieldId non_index = catalog.Intern("a.x");
  const FieldId slash_key = catalog.Intern("k/v");  // a key with '/'
  const FieldId tilde_key = catalog.Intern("t~1");  // a key with '~'
  const FieldId deep = catalog.Intern("a.1.b.0.c");
  EventDecoder decoder(EventFormat::Segment(), &catalog);
  const Event* e = nullptr;
  RejectReason reason;
  // clang-format off
  ASSERT_OK(decoder
                  .Decode(R"({"event":"e","timestamp":0,"m":{"0":"zero"},"a":[10,{"b":[{"c":"deep"}]}],
                             "s":"str","k/v":"slash","t~1":"tilde"})",
                          &e, &reason));
  // clang-format on
  EXPECT_EQ(e->field(obj_digit).str, "zero");
  EXPECT_EQ(e->field(arr0).number, 10.0);
  EXPECT_EQ(e->field(out_of_range).kind, Kind::kMissing);
  EXPECT_EQ(e->field(through_scalar).kind, Kind::kMissing);
  EXPECT_EQ(e->field(non_index).kind, Kind::kMissing);
  EXPECT_EQ(e->field(slash_key).str, "slash");
  EXPECT_EQ(e->field(tilde_key).str, "tilde");
  EXPECT_EQ(e->field(deep).str, "deep");
}

TEST(EventDecoderTest, StringViewsAreUnescaped) {
  FieldCatalog catalog;
  const FieldId note = catalog.Intern("properties.note");
  EventDecoder decoder(EventFormat::Segment(), &catalog);
  const Event* e = nullptr;
  RejectReason reason;
  ASSERT_OK(decoder.Decode(R"({"event":"caf\u00e9","timestamp":0,"properties":{"note":"a\"b\\c"}})",
                           &e, &reason));
  EXPECT_EQ(e->name, "caf\xc3\xa9");  // U+00E9 in UTF-8
  EXPECT_EQ(e->field(note).str, "a\"b\\c");
}

TEST(EventDecoderTest, AmplitudeFormat) {
  FieldCatalog catalog;
  const FieldId user = catalog.Intern("user_id");
  const FieldId plan = catalog.Intern("event_properties.plan");
  const FieldId seats = catalog.Intern("event_properties.seats");
  EventDecoder decoder(EventFormat::Amplitude(), &catalog);
  const Event* e = nullptr;
  RejectReason reason;
  // clang-format off
  ASSERT_OK(decoder
                  .Decode(R"({"event_type":"checkout","time":1711848600123,
                             "insert_id":"ins-1","device_id":"dev-9",
                             "event_properties":{"plan":"team","seats":5}})",
                          &e, &reason));
  // clang-format on
  EXPECT_EQ(e->name, "checkout");
  EXPECT_EQ(e->time, EventTime(kMar31At0130Utc + 123));
  EXPECT_EQ(e->id, "ins-1");
  EXPECT_EQ(e->field(user).str, "dev-9");  // user_id absent -> device_id
  EXPECT_EQ(e->field(plan).str, "team");
  EXPECT_EQ(e->field(seats).number, 5.0);

  // clang-format off
  ASSERT_OK(decoder
                  .Decode(R"({"event_type":"checkout","time":1711848600000,
                             "user_id":"u-1","device_id":"dev-9"})",
                          &e, &reason));
  // clang-format on
  EXPECT_EQ(e->field(user).str, "u-1");
  EXPECT_EQ(e->id, "");

  // user_id and device_id follow the same string-or-integer rule.
  absl::Status bad =
      decoder.Decode(R"({"event_type":"x","time":0,"user_id":{"id":1}})", &e, &reason);
  EXPECT_EQ(reason, RejectReason::kBadId);
  EXPECT_EQ(bad.message(), "user id at \"user_id\" is an object, not a string or an integer");
  bad = decoder.Decode(R"({"event_type":"x","time":0,"device_id":true})", &e, &reason);
  EXPECT_EQ(reason, RejectReason::kBadId);
  EXPECT_EQ(bad.message(), "user id at \"device_id\" is a bool, not a string or an integer");
  ASSERT_OK(decoder.Decode(R"({"event_type":"x","time":0,"user_id":12})", &e, &reason));
  EXPECT_EQ(e->field(user).number, 12.0);

  // Amplitude has no "type" fallback and no "track" rule.
  absl::Status s = decoder.Decode(R"({"type":"track","time":1})", &e, &reason);
  EXPECT_EQ(reason, RejectReason::kMissingName);
  EXPECT_EQ(s.message(), "event name missing (\"event_type\")");
  s = decoder.Decode(R"({"event_type":"x","time":"2024-03-31T01:30:00Z"})", &e, &reason);
  ASSERT_OK(s);
  EXPECT_EQ(e->time, EventTime(kMar31At0130Utc));
}

TEST(EventDecoderTest, EmptyCatalogAndSmallLimit) {
  FieldCatalog catalog;
  EventDecoder decoder(EventFormat::Segment(), &catalog, /*max_message_bytes=*/10);
  const Event* e = nullptr;
  RejectReason reason;
  // {"event":"e","timestamp":0} is 27 bytes > 10.
  absl::Status s = decoder.Decode(R"({"event":"e","timestamp":0})", &e, &reason);
  EXPECT_EQ(reason, RejectReason::kOversized);
  EXPECT_EQ(s.message(), "message is 27 bytes, over the 10-byte limit");
  // "{}" (2 bytes) fits and parses, but has no name.
  s = decoder.Decode("{}", &e, &reason);
  EXPECT_EQ(reason, RejectReason::kMissingName);
}

TEST(EventDecoderTest, InvalidJsonExactlyWhenTheDomParserRejects) {
  // The decoder walks messages with simdjson On-Demand, which validates only
  // what it reads. The oracle is simdjson's DOM parser, which validates the
  // whole document: over deterministic mutations of a valid message (bytes
  // replaced by JSON punctuation or arbitrary bytes, inserted, deleted,
  // truncations), a message must be invalid_json exactly when the DOM parser
  // rejects it, and not_object exactly when it parses to a non-object.
  FieldCatalog catalog;
  catalog.Intern("userId");
  catalog.Intern("properties.items.0.sku");
  EventDecoder decoder(EventFormat::Segment(), &catalog);
  simdjson::dom::parser oracle;
  const std::string base =
      R"({"event":"e","userId":"u\u0031","messageId":7,"timestamp":"2024-03-31T01:30:00.5+02:00",)"
      R"("context":{"groupId":"g"},"properties":{"items":[{"sku":"s"},null],"n":-1.5e3,"t":true}})";
  const std::string alphabet = "{}[],:\"\\ 0123456789-+.eEtrufalsn";
  uint32_t x = 7;
  auto next = [&x] {
    x = x * 1103515245u + 12345u;
    return x >> 8;
  };
  int invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string msg = base;
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int k = 0; k < edits && !msg.empty(); ++k) {
      const size_t at = next() % msg.size();
      const char c =
          next() % 4 == 0 ? static_cast<char>(next() & 0xff) : alphabet[next() % alphabet.size()];
      switch (next() % 3) {
        case 0: msg[at] = c; break;
        case 1: msg.insert(msg.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: msg.erase(at, 1 + next() % 3); break;
      }
    }
    if (next() % 8 == 0 && !msg.empty()) msg.resize(next() % msg.size());
    simdjson::dom::element root;
    const bool dom_ok = oracle.parse(msg).get(root) == simdjson::SUCCESS;
    const Event* e = nullptr;
    RejectReason reason = RejectReason::kOversized;
    const absl::Status s = decoder.Decode(msg, &e, &reason);
    const bool invalid_json = !s.ok() && reason == RejectReason::kInvalidJson;
    ASSERT_EQ(invalid_json, !dom_ok) << msg << "\n" << s;
    if (dom_ok) {
      const bool not_object = !s.ok() && reason == RejectReason::kNotObject;
      ASSERT_EQ(not_object, !root.is_object()) << msg;
    }
    invalid += invalid_json;
  }
  // Both outcomes are exercised: most mutations break the JSON, many don't.
  EXPECT_GT(invalid, 5000);
  EXPECT_LT(invalid, 19000);
}

TEST(EventDecoderTest, ArbitraryBytesNeverBreakTheDecoder) {
  // Deterministic mutations (byte overwrites and truncations) of a valid
  // message: every result is OK or InvalidArgument, and an OK event is sane.
  FieldCatalog catalog;
  catalog.Intern("userId");
  catalog.Intern("properties.items.0.sku");
  EventDecoder decoder(EventFormat::Segment(), &catalog);
  const std::string base =
      R"({"event":"e","userId":"u","messageId":7,"timestamp":"2024-03-31T01:30:00.5+02:00",)"
      R"("properties":{"items":[{"sku":"s"}]}})";
  uint32_t x = 1;
  auto next = [&x] {
    x = x * 1103515245u + 12345u;
    return x >> 8;
  };
  for (int i = 0; i < 20000; ++i) {
    std::string msg = base;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < edits; ++k) msg[next() % msg.size()] = static_cast<char>(next() & 0xff);
    if (next() % 4 == 0) msg.resize(next() % msg.size());
    const Event* e = nullptr;
    RejectReason reason = RejectReason::kOversized;
    absl::Status s = decoder.Decode(msg, &e, &reason);
    if (s.ok()) {
      ASSERT_NE(e, nullptr);
      EXPECT_FALSE(e->name.empty());
      EXPECT_GE(e->time, EventTime(0));
      EXPECT_LE(e->time, EventTime(253402300799999));
      EXPECT_EQ(e->fields.size(), 2u);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(reason, RejectReason::kOversized);
    }
  }
}

}  // namespace
}  // namespace nsmd
