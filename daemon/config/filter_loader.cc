#include "daemon/config/filter_loader.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace nsmd {

FilterLoader::FilterLoader(YamlReader* reader, FieldCatalog* catalog)
    : reader_(reader), catalog_(catalog) {}

bool FilterLoader::LoadLiteral(const YAML::Node& n, Literal* out) {
  if (!n.IsScalar()) {
    reader_->Error(n, "expected a string, number or boolean to compare with");
    return false;
  }
  const std::string& s = n.Scalar();
  double d = 0;
  bool b = false;
  if (n.Tag() != "!" && absl::SimpleAtod(s, &d) &&
      s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
    out->kind = FieldValue::Kind::kNumber;
    out->number = d;
  } else if (n.Tag() != "!" && (s == "true" || s == "false") && YAML::convert<bool>::decode(n, b)) {
    out->kind = FieldValue::Kind::kBool;
    out->boolean = b;
  } else {
    out->kind = FieldValue::Kind::kString;
    out->str = s;
  }
  return true;
}

bool FilterLoader::LoadPredicate(const YAML::Node& n, Predicate* out) {
  if (!n.IsMap()) {
    reader_->Error(n,
                   "expected a predicate: {all: [...]}, {any: [...]}, {not: {...}} or "
                   "{field: PATH, <op>: VALUE}");
    return false;
  }
  for (const char* group : {"all", "any"}) {
    if (!n[group]) continue;
    reader_->CheckMap(n, "a predicate", {"all", "any"});
    if (n.size() != 1) {
      reader_->Error(n, "a predicate has exactly one of all, any, not or field");
      return false;
    }
    out->op = std::string(group) == "all" ? Predicate::Op::kAll : Predicate::Op::kAny;
    if (!n[group].IsSequence()) {
      reader_->Error(n[group], absl::StrCat("expected a list of predicates for \"", group, "\""));
      return false;
    }
    bool ok = true;
    for (const YAML::Node& child : n[group]) {
      Predicate p;
      ok &= LoadPredicate(child, &p);
      out->children.push_back(std::move(p));
    }
    return ok;
  }
  if (n["not"]) {
    if (n.size() != 1) {
      reader_->Error(n, "a predicate has exactly one of all, any, not or field");
      return false;
    }
    out->op = Predicate::Op::kNot;
    Predicate p;
    const bool ok = LoadPredicate(n["not"], &p);
    out->children.push_back(std::move(p));
    return ok;
  }
  if (!reader_->CheckMap(n, "a predicate",
                         {"field", "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists",
                          "matches", "all", "any", "not"})) {
    return false;
  }
  if (!n["field"]) {
    reader_->Error(n, "a predicate needs \"field\" (or all / any / not)");
    return false;
  }
  if (!reader_->GetFieldPath(n["field"], "a predicate's field", catalog_, &out->field))
    return false;
  static const std::pair<const char*, Predicate::Op> kOps[] = {
      {"eq", Predicate::Op::kEq},         {"ne", Predicate::Op::kNe},
      {"in", Predicate::Op::kIn},         {"not_in", Predicate::Op::kNotIn},
      {"gt", Predicate::Op::kGt},         {"gte", Predicate::Op::kGte},
      {"lt", Predicate::Op::kLt},         {"lte", Predicate::Op::kLte},
      {"exists", Predicate::Op::kExists}, {"matches", Predicate::Op::kMatches}};
  int ops = 0;
  bool ok = true;
  for (const auto& [name, op] : kOps) {
    const YAML::Node v = n[name];
    if (!v) continue;
    ++ops;
    out->op = op;
    switch (op) {
      case Predicate::Op::kIn:
      case Predicate::Op::kNotIn: {
        if (!v.IsSequence()) {
          reader_->Error(v, absl::StrCat("expected a list of values for \"", name, "\""));
          ok = false;
          break;
        }
        for (const YAML::Node& item : v) {
          Literal l;
          if (LoadLiteral(item, &l)) out->values.push_back(l);
        }
        break;
      }
      case Predicate::Op::kExists: {
        bool exists = true;
        if (!reader_->GetBool(v, "exists", &exists)) {
          ok = false;
        } else if (!exists) {
          // {exists: false} is "not exists".
          Predicate inner = *out;
          inner.op = Predicate::Op::kExists;
          *out = Predicate();
          out->op = Predicate::Op::kNot;
          out->children.push_back(std::move(inner));
        }
        break;
      }
      case Predicate::Op::kMatches: {
        std::string pattern;
        if (!reader_->GetString(v, "matches", &pattern)) {
          ok = false;
          break;
        }
        auto re = std::make_shared<RE2>(pattern, RE2::Quiet);
        if (!re->ok()) {
          reader_->Error(v,
                         absl::StrCat("bad regular expression \"", pattern, "\": ", re->error()));
          ok = false;
        }
        out->regex = std::move(re);
        break;
      }
      case Predicate::Op::kGt:
      case Predicate::Op::kGte:
      case Predicate::Op::kLt:
      case Predicate::Op::kLte: {
        Literal l;
        double d = 0;
        if (!reader_->GetNumber(v, name, &d)) {
          ok = false;
          break;
        }
        l.kind = FieldValue::Kind::kNumber;
        l.number = d;
        out->values.push_back(l);
        break;
      }
      default: {
        Literal l;
        if (LoadLiteral(v, &l)) {
          out->values.push_back(l);
        } else {
          ok = false;
        }
      }
    }
  }
  if (ops != 1) {
    reader_->Error(n,
                   "a field predicate has exactly one operator: eq, ne, in, not_in, gt, gte, lt, "
                   "lte, exists or matches");
    return false;
  }
  return ok;
}

bool FilterLoader::Load(const YAML::Node& n, const std::string& what, Filter* out) {
  if (!reader_->CheckMap(n, what, {"event", "where"})) return false;
  bool ok = true;
  if (n["event"]) {
    std::vector<std::string> names;
    ok &= reader_->GetStringList(n["event"], absl::StrCat(what, ".event"), &names);
    for (std::string& name : names) out->AddName(std::move(name));
  }
  if (n["where"]) {
    Predicate p;
    if (LoadPredicate(n["where"], &p)) {
      out->SetPredicate(std::move(p));
    } else {
      ok = false;
    }
  }
  return ok;
}

}  // namespace nsmd
