#include "daemon/engine/measure_cell.h"

#include <type_traits>

#include "absl/strings/str_cat.h"

namespace nsmd {

bool MeasureCell::Add(const MeasureSpec& m, const Contribution& c) {
  const bool was_clean = !dirty_;
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      scalar_ += c.amount;
      dirty_ = true;
      break;
    case MeasureKind::kDistinct:
      if (members_.insert(c.member).second) {
        new_members_.push_back(c.member);
        dirty_ = true;
      }
      break;
    case MeasureKind::kEntities: {
      auto [it, inserted] = entities_.try_emplace(c.entity);
      EntityState& e = it->second;
      const double before = inserted ? 0 : e.value;
      if (m.aggregate == EntityAggregate::kDistinct && c.amount == 0) {
        // No member: the entity exists with what it has; an "e" row records
        // a new one (its value is its "em" rows).
        if (!inserted) return false;
        e.has_row = true;
        e.dirty = true;
        dirty_entities_.push_back(c.entity);
      } else if (m.aggregate == EntityAggregate::kDistinct) {
        if (!e.members.insert(c.member).second) return false;
        e.value += 1;
        new_entity_members_.emplace_back(c.entity, c.member);
      } else {
        e.value += c.amount;
        if (!e.dirty) {
          e.dirty = true;
          dirty_entities_.push_back(c.entity);
        }
      }
      dirty_ = true;
      if (inserted) {
        satisfied_ += Compare(e.value, m.comparison, m.threshold) ? 1 : 0;
      } else {
        const bool was = Compare(before, m.comparison, m.threshold);
        const bool is = Compare(e.value, m.comparison, m.threshold);
        satisfied_ += static_cast<int>(is) - static_cast<int>(was);
      }
      break;
    }
    case MeasureKind::kRatio:
      return false;
  }
  return was_clean && dirty_;
}

void MeasureCell::WriteChanges(const MeasureSpec& m, const CellAddress& at, StateDelta* delta) {
  if (!dirty_) return;
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      delta->Put(at.key->Make({"c", at.window, at.group}), FormatDouble(scalar_));
      break;
    case MeasureKind::kDistinct:
      for (const std::string& member : new_members_) {
        delta->Put(at.key->Make({"d", at.window, at.group, member}), "");
      }
      break;
    case MeasureKind::kEntities:
      for (const auto& [entity, member] : new_entity_members_) {
        delta->Put(at.key->Make({"em", at.window, at.group, entity, member}), "");
      }
      for (const std::string& entity : dirty_entities_) {
        auto it = entities_.find(entity);
        if (it == entities_.end()) continue;
        it->second.dirty = false;
        delta->Put(at.key->Make({"e", at.window, at.group, entity}),
                   FormatDouble(it->second.value));
      }
      break;
    case MeasureKind::kRatio:
      break;
  }
  // Release big buffers (a replay can add millions of members between two
  // checkpoints); keep small ones for the next interval.
  auto reset = [](auto& v) {
    v.clear();
    if (v.capacity() > 4096) std::remove_reference_t<decltype(v)>().swap(v);
  };
  reset(new_members_);
  reset(new_entity_members_);
  reset(dirty_entities_);
  dirty_ = false;
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
      double v = 0;
      if (!ParseDouble(value, &v)) return malformed();
      // A distinct entity's value is its number of "em" rows; its "e" row
      // only says it exists.
      if (m.aggregate == EntityAggregate::kDistinct) {
        e.has_row = true;
      } else {
        e.value = v;
      }
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
          if (e.has_row) delta->Delete(at.key->Make({"e", at.window, at.group, entity}));
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
