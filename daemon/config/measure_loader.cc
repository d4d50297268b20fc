#include "daemon/config/measure_loader.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "re2/re2.h"

namespace nsmd {

MeasureLoader::MeasureLoader(YamlReader* reader, FieldCatalog* catalog)
    : reader_(reader), catalog_(catalog) {}

bool MeasureLoader::LoadHaving(const YAML::Node& n, MeasureSpec* m) {
  std::string text;
  if (!reader_->GetString(n, "having", &text)) return false;
  static const RE2 re(
      "\\s*(count(?:\\(\\))?|distinct\\(([^)\\s]+)\\)|sum\\(([^)\\s]+)\\))\\s*"
      "(>=|<=|==|>|<)\\s*(-?[0-9]+(?:\\.[0-9]+)?)\\s*");
  std::string what, distinct_field, sum_field, op, number;
  if (!RE2::FullMatch(text, re, &what, &distinct_field, &sum_field, &op, &number)) {
    reader_->Error(n,
                   absl::StrCat("bad \"having\" expression \"", text,
                                "\": expected count, distinct(FIELD) or sum(FIELD), a comparison "
                                "(>, >=, <, <=, ==) and a number, e.g. \"distinct(userId) > 3\""));
    return false;
  }
  if (!distinct_field.empty()) {
    m->aggregate = EntityAggregate::kDistinct;
    if (!IsFieldPath(distinct_field)) {
      reader_->Error(n, absl::StrCat("\"", distinct_field, "\" is not a field path"));
      return false;
    }
    m->aggregate_field = catalog_->Intern(distinct_field);
  } else if (!sum_field.empty()) {
    m->aggregate = EntityAggregate::kSum;
    if (!IsFieldPath(sum_field)) {
      reader_->Error(n, absl::StrCat("\"", sum_field, "\" is not a field path"));
      return false;
    }
    m->aggregate_field = catalog_->Intern(sum_field);
  } else {
    m->aggregate = EntityAggregate::kCount;
  }
  m->comparison = op == ">"    ? Comparison::kGt
                  : op == ">=" ? Comparison::kGte
                  : op == "<"  ? Comparison::kLt
                  : op == "<=" ? Comparison::kLte
                               : Comparison::kEq;
  if (!absl::SimpleAtod(number, &m->threshold)) {
    reader_->Error(n, absl::StrCat("bad number \"", number, "\" in \"having\""));
    return false;
  }
  return true;
}

bool MeasureLoader::Load(const YAML::Node& n, MeasureSpec* m) {
  if (n.IsScalar()) {
    if (n.Scalar() == "events") {
      m->kind = MeasureKind::kEvents;
      return true;
    }
    reader_->Error(n,
                   absl::StrCat("unknown measure \"", n.Scalar(),
                                "\": events, {distinct: F}, {sum: F}, {entities: F, having: ...} "
                                "or {ratio: {numerator: M, denominator: M}}"));
    return false;
  }
  if (!reader_->CheckMap(n, "measure", {"distinct", "sum", "entities", "having", "ratio"}))
    return false;
  int kinds = 0;
  bool ok = true;
  if (n["distinct"]) {
    ++kinds;
    m->kind = MeasureKind::kDistinct;
    ok &= reader_->GetFieldPath(n["distinct"], "measure.distinct", catalog_, &m->field);
  }
  if (n["sum"]) {
    ++kinds;
    m->kind = MeasureKind::kSum;
    ok &= reader_->GetFieldPath(n["sum"], "measure.sum", catalog_, &m->field);
  }
  if (n["entities"]) {
    ++kinds;
    m->kind = MeasureKind::kEntities;
    ok &= reader_->GetFieldPath(n["entities"], "measure.entities", catalog_, &m->entity);
    if (n["having"]) ok &= LoadHaving(n["having"], m);
  } else if (n["having"]) {
    reader_->Error(n["having"], "\"having\" belongs to an entities measure");
    ok = false;
  }
  if (n["ratio"]) {
    ++kinds;
    m->kind = MeasureKind::kRatio;
    const YAML::Node& r = n["ratio"];
    if (reader_->CheckMap(r, "measure.ratio", {"numerator", "denominator"})) {
      if (!r["numerator"] || !r["denominator"]) {
        reader_->Error(r, "a ratio needs a numerator and a denominator metric");
        ok = false;
      }
      if (r["numerator"])
        ok &= reader_->GetString(r["numerator"], "ratio.numerator", &m->numerator);
      if (r["denominator"]) {
        ok &= reader_->GetString(r["denominator"], "ratio.denominator", &m->denominator);
      }
    } else {
      ok = false;
    }
  }
  if (kinds != 1) {
    reader_->Error(n, "a measure is exactly one of events, distinct, sum, entities or ratio");
    return false;
  }
  return ok;
}

}  // namespace nsmd
