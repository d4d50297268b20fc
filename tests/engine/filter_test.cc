// Filter and Predicate on hand-made events: every operator, numbers
// compared as numbers, and a field of the wrong type (or missing, or null)
// making a comparison false. Expected values follow from the documented
// semantics (docs/definitions.md, Filters), worked out per case below.
#include "daemon/engine/filter.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/engine/test_events.h"

namespace nsmd {
namespace {

using Kind = FieldValue::Kind;
using Op = Predicate::Op;

Literal Str(std::string s) {
  Literal l;
  l.kind = Kind::kString;
  l.str = std::move(s);
  return l;
}
Literal Num(double d) {
  Literal l;
  l.kind = Kind::kNumber;
  l.number = d;
  return l;
}
Literal Bool(bool b) {
  Literal l;
  l.kind = Kind::kBool;
  l.boolean = b;
  return l;
}

class FilterTest : public ::testing::Test {
 protected:
  FilterTest() : x_(ev_.catalog().Intern("properties.x")) {}

  Predicate On(Op op, std::vector<Literal> values) {
    Predicate p;
    p.op = op;
    p.field = x_;
    p.values = std::move(values);
    return p;
  }
  static Predicate Group(Op op, std::vector<Predicate> children) {
    Predicate p;
    p.op = op;
    p.children = std::move(children);
    return p;
  }

  // An event whose properties.x is `value` (Missing() for no field).
  Event With(FieldValue value) {
    Event e = ev_.Make("e", 0);
    e.fields[x_] = value;
    return e;
  }
  Event WithString(const std::string& s) { return ev_.Make("e", 0, {{"properties.x", s}}); }
  Event WithNumber(double d) { return With(FieldValue::Number(d)); }

  TestEvents ev_;
  FieldId x_;
};

TEST_F(FilterTest, EventNamesFewAndMany) {
  // Up to four names are compared in turn, more go through a set: both must
  // accept exactly the names added (a prefix or a longer name is another).
  for (int n : {1, 2, 4, 5, 9}) {
    Filter f;
    for (int i = 0; i < n; ++i) f.AddName("event_" + std::to_string(i));
    f.AddName("event_0");  // a repeat changes nothing
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(f.Matches(ev_.Make("event_" + std::to_string(i), 0))) << n << " names, " << i;
    }
    EXPECT_FALSE(f.Matches(ev_.Make("event_" + std::to_string(n), 0))) << n;
    EXPECT_FALSE(f.Matches(ev_.Make("event_", 0))) << n;
    EXPECT_FALSE(f.Matches(ev_.Make("event_00", 0))) << n;
    EXPECT_EQ(f.names().size(), static_cast<size_t>(n));
  }
  // No names: every event.
  EXPECT_TRUE(Filter().Matches(ev_.Make("anything", 0)));
}

TEST_F(FilterTest, Eq) {
  const Predicate team = On(Op::kEq, {Str("team")});
  EXPECT_TRUE(team.Evaluate(WithString("team")));
  EXPECT_FALSE(team.Evaluate(WithString("free")));
  EXPECT_FALSE(team.Evaluate(With(FieldValue::Missing())));
  EXPECT_FALSE(team.Evaluate(With(FieldValue::Null())));
  // Numbers as numbers: 10 == 10.0; the string "10" is not the number 10
  // and the number 10 is not the string "10".
  EXPECT_TRUE(On(Op::kEq, {Num(10)}).Evaluate(WithNumber(10.0)));
  EXPECT_FALSE(On(Op::kEq, {Num(10)}).Evaluate(WithString("10")));
  EXPECT_FALSE(On(Op::kEq, {Str("10")}).Evaluate(WithNumber(10)));
  EXPECT_TRUE(On(Op::kEq, {Str("10")}).Evaluate(WithString("10")));
  EXPECT_TRUE(On(Op::kEq, {Bool(true)}).Evaluate(With(FieldValue::Bool(true))));
  EXPECT_FALSE(On(Op::kEq, {Bool(true)}).Evaluate(WithString("true")));
}

TEST_F(FilterTest, NeIsFalseForAWrongTypeMissingOrNullField) {
  const Predicate not_team = On(Op::kNe, {Str("team")});
  EXPECT_TRUE(not_team.Evaluate(WithString("free")));
  EXPECT_FALSE(not_team.Evaluate(WithString("team")));
  EXPECT_FALSE(not_team.Evaluate(With(FieldValue::Missing())));
  EXPECT_FALSE(not_team.Evaluate(With(FieldValue::Null())));
  EXPECT_FALSE(not_team.Evaluate(WithNumber(5)));  // a number vs a string
  EXPECT_FALSE(not_team.Evaluate(With(FieldValue::Bool(false))));
  EXPECT_FALSE(not_team.Evaluate(With(FieldValue::Composite())));
  const Predicate not_ten = On(Op::kNe, {Num(10)});
  EXPECT_TRUE(not_ten.Evaluate(WithNumber(9)));
  EXPECT_FALSE(not_ten.Evaluate(WithNumber(10)));
  EXPECT_FALSE(not_ten.Evaluate(WithString("9")));  // a string vs a number
  EXPECT_TRUE(On(Op::kNe, {Bool(true)}).Evaluate(With(FieldValue::Bool(false))));
}

TEST_F(FilterTest, In) {
  const Predicate paid = On(Op::kIn, {Str("team"), Str("enterprise")});
  EXPECT_TRUE(paid.Evaluate(WithString("team")));
  EXPECT_TRUE(paid.Evaluate(WithString("enterprise")));
  EXPECT_FALSE(paid.Evaluate(WithString("free")));
  EXPECT_FALSE(paid.Evaluate(With(FieldValue::Missing())));
  const Predicate one_or_two = On(Op::kIn, {Num(1), Num(2)});
  EXPECT_TRUE(one_or_two.Evaluate(WithNumber(2)));
  EXPECT_FALSE(one_or_two.Evaluate(WithNumber(3)));
  EXPECT_FALSE(one_or_two.Evaluate(WithString("2")));
}

TEST_F(FilterTest, NotInNeedsAFieldOfAListedKind) {
  const Predicate unpaid = On(Op::kNotIn, {Str("team"), Str("enterprise")});
  EXPECT_TRUE(unpaid.Evaluate(WithString("free")));
  EXPECT_FALSE(unpaid.Evaluate(WithString("team")));
  EXPECT_FALSE(unpaid.Evaluate(With(FieldValue::Missing())));
  EXPECT_FALSE(unpaid.Evaluate(With(FieldValue::Null())));
  EXPECT_FALSE(unpaid.Evaluate(WithNumber(3)));  // no number in the list
  // A mixed list accepts a field of either listed kind that is not listed.
  const Predicate mixed = On(Op::kNotIn, {Str("a"), Num(5)});
  EXPECT_TRUE(mixed.Evaluate(WithNumber(6)));
  EXPECT_FALSE(mixed.Evaluate(WithNumber(5)));
  EXPECT_TRUE(mixed.Evaluate(WithString("b")));
  // The string "5" is a string (a listed kind) and is neither "a" nor the
  // number 5, so it is not in the list.
  EXPECT_TRUE(mixed.Evaluate(WithString("5")));
  EXPECT_FALSE(mixed.Evaluate(With(FieldValue::Bool(true))));
}

TEST_F(FilterTest, OrderingComparesNumbersAsNumbers) {
  // 9 < 10 as numbers (as text "9" > "10"); 100 > 20 (as text "100" < "20").
  EXPECT_TRUE(On(Op::kLt, {Num(10)}).Evaluate(WithNumber(9)));
  EXPECT_TRUE(On(Op::kLte, {Num(10)}).Evaluate(WithNumber(9)));
  EXPECT_FALSE(On(Op::kGt, {Num(10)}).Evaluate(WithNumber(9)));
  EXPECT_FALSE(On(Op::kGte, {Num(10)}).Evaluate(WithNumber(9)));
  EXPECT_TRUE(On(Op::kGt, {Num(20)}).Evaluate(WithNumber(100)));
  // At the bound only the inclusive ones hold.
  EXPECT_FALSE(On(Op::kLt, {Num(10)}).Evaluate(WithNumber(10)));
  EXPECT_TRUE(On(Op::kLte, {Num(10)}).Evaluate(WithNumber(10)));
  EXPECT_FALSE(On(Op::kGt, {Num(10)}).Evaluate(WithNumber(10)));
  EXPECT_TRUE(On(Op::kGte, {Num(10)}).Evaluate(WithNumber(10)));
  // A numeric string, a missing field, a boolean: all false, both ways.
  for (Op op : {Op::kLt, Op::kLte, Op::kGt, Op::kGte}) {
    const Predicate p = On(op, {Num(10)});
    EXPECT_FALSE(p.Evaluate(WithString("9")));
    EXPECT_FALSE(p.Evaluate(WithString("11")));
    EXPECT_FALSE(p.Evaluate(With(FieldValue::Missing())));
    EXPECT_FALSE(p.Evaluate(With(FieldValue::Bool(true))));
  }
}

TEST_F(FilterTest, Exists) {
  const Predicate exists = On(Op::kExists, {});
  EXPECT_TRUE(exists.Evaluate(WithString("")));
  EXPECT_TRUE(exists.Evaluate(WithNumber(0)));
  EXPECT_TRUE(exists.Evaluate(With(FieldValue::Bool(false))));
  EXPECT_TRUE(exists.Evaluate(With(FieldValue::Composite())));
  EXPECT_FALSE(exists.Evaluate(With(FieldValue::Null())));
  EXPECT_FALSE(exists.Evaluate(With(FieldValue::Missing())));
}

TEST_F(FilterTest, MatchesIsAnUnanchoredRe2SearchOnStrings) {
  Predicate docs = On(Op::kMatches, {});
  docs.regex = std::make_shared<RE2>("^/docs/");
  EXPECT_TRUE(docs.Evaluate(WithString("/docs/a")));
  EXPECT_FALSE(docs.Evaluate(WithString("/blog/docs/a")));  // anchored at the start
  Predicate anywhere = On(Op::kMatches, {});
  anywhere.regex = std::make_shared<RE2>("docs");
  EXPECT_TRUE(anywhere.Evaluate(WithString("/blog/docs/a")));  // partial match
  Predicate digits = On(Op::kMatches, {});
  digits.regex = std::make_shared<RE2>("^[0-9]+$");
  EXPECT_TRUE(digits.Evaluate(WithString("42")));
  EXPECT_FALSE(digits.Evaluate(WithNumber(42)));  // a number is not a string
  EXPECT_FALSE(digits.Evaluate(With(FieldValue::Missing())));
}

TEST_F(FilterTest, AllAnyNot) {
  // 5 <= x < 10.
  const Predicate range = Group(Op::kAll, {On(Op::kGte, {Num(5)}), On(Op::kLt, {Num(10)})});
  EXPECT_FALSE(range.Evaluate(WithNumber(4)));
  EXPECT_TRUE(range.Evaluate(WithNumber(5)));
  EXPECT_TRUE(range.Evaluate(WithNumber(9.5)));
  EXPECT_FALSE(range.Evaluate(WithNumber(10)));
  // x < 5 or x >= 10: the complement among numbers.
  const Predicate outside = Group(Op::kAny, {On(Op::kLt, {Num(5)}), On(Op::kGte, {Num(10)})});
  EXPECT_TRUE(outside.Evaluate(WithNumber(4)));
  EXPECT_FALSE(outside.Evaluate(WithNumber(7)));
  EXPECT_TRUE(outside.Evaluate(WithNumber(10)));
  EXPECT_FALSE(outside.Evaluate(WithString("4")));  // every child false
  // not(x == "team") holds for anything else, a missing field included:
  // unlike ne, not negates the whole comparison.
  const Predicate not_team = Group(Op::kNot, {On(Op::kEq, {Str("team")})});
  EXPECT_FALSE(not_team.Evaluate(WithString("team")));
  EXPECT_TRUE(not_team.Evaluate(WithString("free")));
  EXPECT_TRUE(not_team.Evaluate(With(FieldValue::Missing())));
  // Empty groups: all of nothing holds, any of nothing does not.
  EXPECT_TRUE(Group(Op::kAll, {}).Evaluate(WithNumber(1)));
  EXPECT_FALSE(Group(Op::kAny, {}).Evaluate(WithNumber(1)));
}

TEST_F(FilterTest, NamesAndPredicateMustBothHold) {
  Filter f;
  EXPECT_TRUE(f.Matches(ev_.Make("anything", 0)));  // no names, no predicate: every event
  f.AddName("file_edited");
  f.AddName("comment_added");
  EXPECT_TRUE(f.Matches(ev_.Make("comment_added", 0)));
  EXPECT_FALSE(f.Matches(ev_.Make("page_viewed", 0)));
  f.SetPredicate(On(Op::kEq, {Str("team")}));
  EXPECT_TRUE(f.Matches(ev_.Make("file_edited", 0, {{"properties.x", "team"}})));
  EXPECT_FALSE(f.Matches(ev_.Make("file_edited", 0, {{"properties.x", "free"}})));
  EXPECT_FALSE(f.Matches(ev_.Make("page_viewed", 0, {{"properties.x", "team"}})));
}

}  // namespace
}  // namespace nsmd
