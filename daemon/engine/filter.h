// Filter: which events a metric (or a cohort anchor) looks at.
#ifndef NSMD_DAEMON_ENGINE_FILTER_H_
#define NSMD_DAEMON_ENGINE_FILTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "daemon/decode/event.h"
#include "daemon/decode/field_catalog.h"

namespace re2 {
class RE2;
}

namespace nsmd {

// A literal in a predicate: a string, a number or a boolean.
struct Literal {
  FieldValue::Kind kind = FieldValue::Kind::kString;
  std::string str;
  double number = 0;
  bool boolean = false;
};

// A boolean expression over an event's fields. Comparisons of a field whose
// type does not fit (a string against gt 5, a missing field against eq, a
// number against ne "x") are false, never errors: bad data does not stop the
// pipeline. ne / not_in hold only for a field of the (a) literal's kind.
struct Predicate {
  enum class Op {
    kAll,
    kAny,
    kNot,  // children
    kEq,
    kNe,
    kIn,
    kNotIn,  // field vs values (numbers as numbers)
    kGt,
    kGte,
    kLt,
    kLte,      // field vs values[0], numbers only
    kExists,   // field present and not null
    kMatches,  // string field matches regex (RE2, partial)
  };
  Op op = Op::kAll;
  FieldId field = kNoField;
  std::vector<Literal> values;
  std::shared_ptr<const re2::RE2> regex;
  std::vector<Predicate> children;

  // Evaluates the predicate on `event`.
  bool Evaluate(const Event& event) const;
};

// Event names (any of; empty = every event) plus an optional predicate.
// Cheap to evaluate; immutable and thread-compatible once built.
class Filter {
 public:
  Filter() = default;

  // Adds an accepted event name.
  void AddName(std::string name) {
    if (names_.insert(name).second) name_list_.push_back(std::move(name));
  }
  // Sets the predicate that must also hold.
  void SetPredicate(Predicate predicate) {
    predicate_ = std::move(predicate);
    has_predicate_ = true;
  }

  // True if `event` has an accepted name and satisfies the predicate.
  bool Matches(const Event& event) const {
    return AcceptsName(event.name) && MatchesPredicate(event);
  }

  // True if events named `name` may match: the filter names no event, or
  // names this one.
  bool AcceptsName(absl::string_view name) const { return names_.empty() || HasName(name); }

  // True if `event` satisfies the predicate, whatever its name: for a
  // caller that knows AcceptsName(event.name) already (the Engine works it
  // out once per name, not per event).
  bool MatchesPredicate(const Event& event) const {
    return !has_predicate_ || predicate_.Evaluate(event);
  }

  const absl::flat_hash_set<std::string>& names() const { return names_; }
  bool has_predicate() const { return has_predicate_; }
  const Predicate& predicate() const { return predicate_; }

 private:
  // A few names (the usual case) are compared in turn, which is cheaper
  // than hashing the event's name once per metric; many use the set.
  bool HasName(absl::string_view name) const {
    if (name_list_.size() > kNamesComparedInTurn) return names_.contains(name);
    for (const std::string& n : name_list_) {
      if (n == name) return true;
    }
    return false;
  }
  static constexpr size_t kNamesComparedInTurn = 4;

  absl::flat_hash_set<std::string> names_;
  std::vector<std::string> name_list_;  // names_ in the order added
  Predicate predicate_;
  bool has_predicate_ = false;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_FILTER_H_
