#include "daemon/engine/filter.h"

#include "re2/re2.h"

namespace nsmd {
namespace {

using Kind = FieldValue::Kind;

// Equality of a field and a literal: numbers compare as numbers, strings as
// strings, booleans as booleans; different types are never equal.
bool Equals(const FieldValue& v, const Literal& lit) {
  if (v.kind != lit.kind) return false;
  switch (v.kind) {
    case Kind::kNumber: return v.number == lit.number;
    case Kind::kString: return v.str == lit.str;
    case Kind::kBool: return v.boolean == lit.boolean;
    default: return false;
  }
}

bool InList(const FieldValue& v, const std::vector<Literal>& values) {
  for (const Literal& lit : values) {
    if (Equals(v, lit)) return true;
  }
  return false;
}

// True if some literal has the field's kind: only then can ne / not_in hold
// (a field of the wrong type, missing or null makes them false).
bool KindComparable(const FieldValue& v, const std::vector<Literal>& values) {
  for (const Literal& lit : values) {
    if (lit.kind == v.kind) return true;
  }
  return false;
}

}  // namespace

bool Predicate::Evaluate(const Event& event) const {
  switch (op) {
    case Op::kAll:
      for (const Predicate& c : children) {
        if (!c.Evaluate(event)) return false;
      }
      return true;
    case Op::kAny:
      for (const Predicate& c : children) {
        if (c.Evaluate(event)) return true;
      }
      return false;
    case Op::kNot: return !children.empty() && !children.front().Evaluate(event);
    default: break;
  }
  const FieldValue& v = event.field(field);
  switch (op) {
    case Op::kEq: return !values.empty() && Equals(v, values.front());
    case Op::kNe:
      // Only a value of the literal's kind can be "not equal" to it: a
      // missing, null or wrongly typed field makes the predicate false.
      return !values.empty() && v.kind == values.front().kind && !Equals(v, values.front());
    case Op::kIn: return InList(v, values);
    case Op::kNotIn:
      // The same rule: the field needs the kind of at least one listed value.
      return KindComparable(v, values) && !InList(v, values);
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte: {
      if (v.kind != Kind::kNumber || values.empty() || values.front().kind != Kind::kNumber) {
        return false;
      }
      const double rhs = values.front().number;
      if (op == Op::kGt) return v.number > rhs;
      if (op == Op::kGte) return v.number >= rhs;
      if (op == Op::kLt) return v.number < rhs;
      return v.number <= rhs;
    }
    case Op::kExists: return v.kind != Kind::kMissing && v.kind != Kind::kNull;
    case Op::kMatches:
      return v.kind == Kind::kString && regex != nullptr &&
             RE2::PartialMatch(re2::StringPiece(v.str.data(), v.str.size()), *regex);
    default: return false;
  }
}

}  // namespace nsmd
