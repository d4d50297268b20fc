// Tests for RekeyRecord: events through a repartition topic's records.
#include "daemon/decode/rekey_record.h"

#include <string>

#include "daemon/decode/key_hash.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace nsmd {
namespace {

TEST(RekeyRecordTest, LayoutOfARecordWithoutFields) {
  FieldCatalog catalog;
  Event event;
  event.name = "a";
  event.time = EventTime(1000);
  std::string out;
  EncodeRekeyRecord(event, catalog, RekeyOrigin{"t/0", KafkaOffset(5)}, &out);
  // Version 1, "t/0", offset 5, time 1000 (LEB128 e8 07), "a", empty id, no fields.
  EXPECT_EQ(out, std::string("\x01\x03t/0\x05\xe8\x07\x01"
                             "a\x00\x00",
                             12));
}

TEST(RekeyRecordTest, RoundTripsByPathIntoAnotherCatalog) {
  FieldCatalog from;
  const FieldId plan = from.Intern("properties.plan");
  const FieldId seats = from.Intern("properties.seats");
  const FieldId trial = from.Intern("properties.trial");
  const FieldId note = from.Intern("properties.note");
  const FieldId gone = from.Intern("properties.gone");
  const FieldId team = from.Intern("context.groupId");
  Event event;
  event.name = "file_edited";
  event.time = EventTime(1733356800123);
  event.id = "m-1";
  event.fields.assign(static_cast<size_t>(from.size()), FieldValue::Missing());
  event.fields[plan] = FieldValue::String("pro");
  event.fields[seats] = FieldValue::Number(12.5);
  event.fields[trial] = FieldValue::Bool(true);
  event.fields[note] = FieldValue::Null();
  event.fields[gone] = FieldValue::String("dropped by the reader's catalog");
  event.fields[team] = FieldValue::Number(7);
  std::string bytes;
  EncodeRekeyRecord(event, from, RekeyOrigin{"product-events/3", KafkaOffset(1234567)}, &bytes);

  // Other ids, one path fewer, one more (never in a record: missing).
  FieldCatalog to;
  const FieldId to_team = to.Intern("context.groupId");
  const FieldId to_extra = to.Intern("userId");
  const FieldId to_trial = to.Intern("properties.trial");
  const FieldId to_plan = to.Intern("properties.plan");
  const FieldId to_note = to.Intern("properties.note");
  const FieldId to_seats = to.Intern("properties.seats");
  RekeyRecordDecoder decoder(&to, {to_team});
  const Event* got = nullptr;
  RejectReason reason;
  RekeyOrigin origin;
  ASSERT_OK(decoder.Decode(bytes, &got, &reason, &origin));
  EXPECT_EQ(origin.source, "product-events/3");
  EXPECT_EQ(origin.offset, KafkaOffset(1234567));
  EXPECT_EQ(got->name, "file_edited");
  EXPECT_EQ(got->time, EventTime(1733356800123));
  EXPECT_EQ(got->id, "m-1");
  ASSERT_EQ(got->fields.size(), 6u);
  EXPECT_EQ(got->fields[to_plan].kind, FieldValue::Kind::kString);
  EXPECT_EQ(got->fields[to_plan].str, "pro");
  EXPECT_EQ(got->fields[to_seats].number, 12.5);
  EXPECT_TRUE(got->fields[to_trial].boolean);
  EXPECT_EQ(got->fields[to_note].kind, FieldValue::Kind::kNull);
  EXPECT_EQ(got->fields[to_extra].kind, FieldValue::Kind::kMissing);
  // A hashed field's hash is that of its key text, "7".
  EXPECT_TRUE(got->fields[to_team].key_hashed);
  EXPECT_EQ(got->fields[to_team].key_hash, HashKeyText("7"));
}

TEST(RekeyRecordTest, MalformedBytesAreRejectedNotRead) {
  FieldCatalog catalog;
  catalog.Intern("x");
  Event event;
  event.name = "e";
  event.time = EventTime(5);
  event.fields = {FieldValue::String("abc")};
  std::string good;
  EncodeRekeyRecord(event, catalog, RekeyOrigin{"t/1", KafkaOffset(9)}, &good);
  RekeyRecordDecoder decoder(&catalog, {});
  const Event* got = nullptr;
  RejectReason reason = RejectReason::kOversized;
  RekeyOrigin origin;
  ASSERT_OK(decoder.Decode(good, &got, &reason, &origin));
  // Every proper prefix is truncated somewhere.
  for (size_t n = 0; n < good.size(); ++n) {
    const absl::Status s = decoder.Decode(good.substr(0, n), &got, &reason, &origin);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << n;
    EXPECT_EQ(reason, RejectReason::kInvalidJson);
  }
  EXPECT_EQ(decoder.Decode(good + "x", &got, &reason, &origin).message(),
            "not a version 1 rekey record: trailing bytes");
  EXPECT_EQ(decoder.Decode("{\"event\":\"e\"}", &got, &reason, &origin).message(),
            "not a version 1 rekey record: unknown version");
}

}  // namespace
}  // namespace nsmd
