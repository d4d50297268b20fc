#include "daemon/export/json_writer.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace nsmd {
namespace {

std::string One(double v) {
  JsonWriter w;
  w.Number(v);
  return w.Take();
}

std::string Str(absl::string_view s) {
  JsonWriter w;
  w.String(s);
  return w.Take();
}

TEST(JsonWriterTest, NestedStructureGetsCommasAndColons) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.Int(1);
  w.Key("b");
  w.BeginArray();
  w.Bool(true);
  w.Bool(false);
  w.Null();
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.EndArray();
  w.Key("c");
  w.BeginObject();
  w.Key("d");
  w.String("e");
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(w.Take(), R"({"a":1,"b":[true,false,null,{},[]],"c":{"d":"e"}})");
}

TEST(JsonWriterTest, TakeResetsForANewDocument) {
  JsonWriter w;
  w.BeginArray();
  w.Int(1);
  w.EndArray();
  EXPECT_EQ(w.Take(), "[1]");
  w.BeginArray();
  w.Int(2);
  w.EndArray();
  EXPECT_EQ(w.Take(), "[2]");  // no leading comma carried over
}

TEST(JsonWriterTest, TopLevelScalars) {
  JsonWriter w;
  w.Int(-9223372036854775807 - 1);
  EXPECT_EQ(w.Take(), "-9223372036854775808");
  w.Bool(false);
  EXPECT_EQ(w.Take(), "false");
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Str("plain"), R"("plain")");
  EXPECT_EQ(Str("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(Str("a\\b"), R"("a\\b")");
  EXPECT_EQ(Str("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  // 0x00, 0x01, 0x1f have no short escape: \u00XX in lower-case hex.
  EXPECT_EQ(Str(absl::string_view("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  // Space (0x20), DEL (0x7f) and UTF-8 bytes pass through unchanged.
  EXPECT_EQ(Str(" \x7f\xc3\xa9"), "\" \x7f\xc3\xa9\"");
  // '/' needs no escape.
  EXPECT_EQ(Str("a/b"), R"("a/b")");
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter w;
  w.BeginObject();
  w.Key("k\"\n");
  w.Int(0);
  w.EndObject();
  EXPECT_EQ(w.Take(), R"({"k\"\n":0})");
}

TEST(JsonWriterTest, IntegralNumbersHaveNoFractionOrExponent) {
  EXPECT_EQ(One(2.0), "2");
  EXPECT_EQ(One(-7.0), "-7");
  EXPECT_EQ(One(0.0), "0");
  EXPECT_EQ(One(-0.0), "0");
  EXPECT_EQ(One(1e20), "100000000000000000000");  // 1e20 is exact in binary
  EXPECT_EQ(One(1704067200.0), "1704067200");
  EXPECT_EQ(One(9007199254740993.0), "9007199254740992");  // 2^53 + 1 rounds to 2^53
}

TEST(JsonWriterTest, OtherNumbersUseTheShortestRoundTripForm) {
  EXPECT_EQ(One(0.1), "0.1");
  EXPECT_EQ(One(1.5), "1.5");
  EXPECT_EQ(One(-2.25), "-2.25");
  EXPECT_EQ(One(1.0 / 3.0), "0.3333333333333333");  // 16 digits round-trip 1/3
  EXPECT_EQ(One(1e-7), "1e-07");
  EXPECT_EQ(One(1e21), "1e+21");  // from 1e21 on, exponent form
  EXPECT_EQ(One(1e300), "1e+300");
}

TEST(JsonWriterTest, NonFiniteNumbersAreNull) {
  JsonWriter w;
  w.BeginArray();
  w.Number(std::numeric_limits<double>::quiet_NaN());
  w.Number(std::numeric_limits<double>::infinity());
  w.Number(-std::numeric_limits<double>::infinity());
  w.Number(1);
  w.EndArray();
  EXPECT_EQ(w.Take(), "[null,null,null,1]");
}

}  // namespace
}  // namespace nsmd
