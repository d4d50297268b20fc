#include "daemon/engine/measure_cell.h"

#include "absl/strings/str_cat.h"

namespace nsmd {

void MeasureCell::Add(const MeasureSpec& m, const Contribution& c, const CellAddress& at,
                      StateDelta* delta) {
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      scalar_ += c.amount;
      delta->Put(at.key->Make({"c", at.window, at.group}), FormatDouble(scalar_));
      return;
    case MeasureKind::kDistinct:
      if (members_.insert(c.member).second) {
        delta->Put(at.key->Make({"d", at.window, at.group, c.member}), "");
      }
      return;
    case MeasureKind::kEntities: {
      auto [it, inserted] = entities_.try_emplace(c.entity);
      EntityState& e = it->second;
      const double before = inserted ? 0 : e.value;
      if (m.aggregate == EntityAggregate::kDistinct) {
        if (!e.members.insert(c.member).second) return;
        e.value += 1;
        delta->Put(at.key->Make({"em", at.window, at.group, c.entity, c.member}), "");
      } else {
        e.value += c.amount;
        delta->Put(at.key->Make({"e", at.window, at.group, c.entity}), FormatDouble(e.value));
      }
      if (inserted) {
        satisfied_ += Compare(e.value, m.comparison, m.threshold) ? 1 : 0;
      } else {
        const bool was = Compare(before, m.comparison, m.threshold);
        const bool is = Compare(e.value, m.comparison, m.threshold);
        satisfied_ += static_cast<int>(is) - static_cast<int>(was);
      }
      return;
    }
    case MeasureKind::kRatio:
      return;
  }
}

double MeasureCell::Value(const MeasureSpec& m) const {
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      return scalar_;
    case MeasureKind::kDistinct:
      return static_cast<double>(members_.size());
    case MeasureKind::kEntities:
      return static_cast<double>(satisfied_);
    case MeasureKind::kRatio:
      return 0;
  }
  return 0;
}

absl::Status MeasureCell::Restore(const MeasureSpec& m, absl::string_view kind,
                                  const std::vector<std::string>& rest, absl::string_view value) {
  auto malformed = [&] {
    return absl::DataLossError(absl::StrCat("malformed state row of kind \"", kind, "\""));
  };
  if (kind == "c") {
    if (!rest.empty() || !ParseDouble(value, &scalar_)) return malformed();
  } else if (kind == "d") {
    if (rest.size() != 1) return malformed();
    members_.insert(rest[0]);
  } else if (kind == "e" || kind == "em") {
    if (rest.size() != (kind == "e" ? 1u : 2u)) return malformed();
    auto [it, inserted] = entities_.try_emplace(rest[0]);
    EntityState& e = it->second;
    const bool was = !inserted && Compare(e.value, m.comparison, m.threshold);
    if (kind == "e") {
      if (!ParseDouble(value, &e.value)) return malformed();
    } else if (e.members.insert(rest[1]).second) {
      e.value += 1;
    }
    const bool is = Compare(e.value, m.comparison, m.threshold);
    satisfied_ += static_cast<int>(is) - static_cast<int>(was);
  } else {
    return malformed();
  }
  return absl::OkStatus();
}

void MeasureCell::DeleteRows(const MeasureSpec& m, const CellAddress& at,
                             StateDelta* delta) const {
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      delta->Delete(at.key->Make({"c", at.window, at.group}));
      return;
    case MeasureKind::kDistinct:
      for (const std::string& member : members_) {
        delta->Delete(at.key->Make({"d", at.window, at.group, member}));
      }
      return;
    case MeasureKind::kEntities:
      for (const auto& [entity, e] : entities_) {
        if (m.aggregate == EntityAggregate::kDistinct) {
          for (const std::string& member : e.members) {
            delta->Delete(at.key->Make({"em", at.window, at.group, entity, member}));
          }
        } else {
          delta->Delete(at.key->Make({"e", at.window, at.group, entity}));
        }
      }
      return;
    case MeasureKind::kRatio:
      return;
  }
}

}  // namespace nsmd
