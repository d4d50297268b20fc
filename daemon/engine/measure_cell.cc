#include "daemon/engine/measure_cell.h"

#include <algorithm>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/engine/fixed_encoding.h"
#include "daemon/engine/member_hash.h"

namespace nsmd {
bool MeasureCell::Add(const MeasureSpec& m, const Contribution& c) {
  const bool was_clean = !dirty_;
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      scalar_ += c.amount;
      dirty_ = true;
      break;
    case MeasureKind::kDistinct: {
      if (members_.Insert(c.member_hash)) {
        AppendMemberHash(c.member_hash, &new_members_);
        dirty_ = true;
      }
      break;
    }
    case MeasureKind::kEntities: {
      auto [it, inserted] = entities_.try_emplace(c.entity);
      EntityState& e = it->second;
      const double before = inserted ? 0 : e.value;
      if (m.aggregate == EntityAggregate::kDistinct && c.amount == 0) {
        // No member: the entity exists with what it has; an "e" row records
        // a new one (its value is its members, in "emh" rows).
        if (!inserted) return false;
        e.has_row = true;
        e.dirty = true;
        dirty_entities_.push_back(c.entity);
      } else if (m.aggregate == EntityAggregate::kDistinct) {
        const absl::uint128 hash = c.member_hash;
        if (!entity_members_.insert(EntityMemberKey(c.entity, hash)).second) return false;
        e.value += 1;
        char length[sizeof(uint32_t)];
        EncodeFixed32(length, static_cast<uint32_t>(c.entity.size()));
        new_entity_members_.append(length, sizeof length);
        new_entity_members_.append(c.entity);
        AppendMemberHash(hash, &new_entity_members_);
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
    case MeasureKind::kRatio: return false;
  }
  return was_clean && dirty_;
}

void MeasureCell::Prefetch(const MeasureSpec& m, absl::string_view entity,
                           std::optional<absl::uint128> member_hash) const {
  if (m.kind == MeasureKind::kDistinct && member_hash) members_.Prefetch(*member_hash);
  if (m.kind != MeasureKind::kEntities) return;
  entities_.prefetch(entity);
  if (member_hash && m.aggregate == EntityAggregate::kDistinct) {
    entity_members_.prefetch(EntityMemberKey(entity, *member_hash));
  }
}

void MeasureCell::WriteChanges(const MeasureSpec& m, const CellAddress& at, StateDelta* delta) {
  if (!dirty_) return;
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum:
      delta->Put(at.key->Make({"c", at.window, at.group}), FormatDouble(scalar_));
      break;
    case MeasureKind::kDistinct:
      if (!new_members_.empty()) {
        delta->PutOwned(at.key->Make({"dh", at.window, at.group, absl::StrCat(next_blob_seq_++)}),
                        std::move(new_members_));
        new_members_ = std::string();
      }
      break;
    case MeasureKind::kEntities:
      if (!new_entity_members_.empty()) {
        delta->PutOwned(at.key->Make({"emh", at.window, at.group, absl::StrCat(next_blob_seq_++)}),
                        std::move(new_entity_members_));
        new_entity_members_ = std::string();
      }
      for (const std::string& entity : dirty_entities_) {
        auto it = entities_.find(entity);
        if (it == entities_.end()) continue;
        it->second.dirty = false;
        delta->Put(at.key->Make({"e", at.window, at.group, entity}),
                   FormatDouble(it->second.value));
      }
      break;
    case MeasureKind::kRatio: break;
  }
  // Release big buffers (a replay can add millions of members between two
  // checkpoints); keep small ones for the next interval.
  auto reset = [](auto& v) {
    v.clear();
    if (v.capacity() > 4096) std::remove_reference_t<decltype(v)>().swap(v);
  };
  reset(dirty_entities_);
  dirty_ = false;
}

double MeasureCell::Value(const MeasureSpec& m) const {
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum: return scalar_;
    case MeasureKind::kDistinct: return static_cast<double>(members_.size());
    case MeasureKind::kEntities: return static_cast<double>(satisfied_);
    case MeasureKind::kRatio: return 0;
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
  } else if (kind == "dh" || kind == "emh") {
    uint64_t seq = 0;
    if (rest.size() != 1 || !absl::SimpleAtoi(rest[0], &seq)) return malformed();
    next_blob_seq_ = std::max(next_blob_seq_, seq + 1);
    if (kind == "dh") {
      if (value.size() % kMemberHashBytes != 0) return malformed();
      std::vector<absl::uint128>& chunk = restored_members_.emplace_back();
      chunk.reserve(value.size() / kMemberHashBytes);
      for (size_t i = 0; i < value.size(); i += kMemberHashBytes) {
        chunk.push_back(LoadMemberHash(value.data() + i));
      }
      return absl::OkStatus();
    }
    while (!value.empty()) {
      if (value.size() < sizeof(uint32_t)) return malformed();
      const uint32_t length = DecodeFixed32(value.data());
      value.remove_prefix(sizeof(uint32_t));
      if (value.size() < static_cast<size_t>(length) + kMemberHashBytes) return malformed();
      const absl::string_view entity = value.substr(0, length);
      const absl::uint128 hash = LoadMemberHash(value.data() + length);
      value.remove_prefix(length + kMemberHashBytes);
      auto [it, inserted] = entities_.try_emplace(entity);
      EntityState& e = it->second;
      if (!entity_members_.insert(EntityMemberKey(entity, hash)).second) continue;
      const bool was = !inserted && Compare(e.value, m.comparison, m.threshold);
      e.value += 1;
      const bool is = Compare(e.value, m.comparison, m.threshold);
      satisfied_ += static_cast<int>(is) - static_cast<int>(was);
    }
  } else if (kind == "e") {
    if (rest.size() != 1) return malformed();
    auto [it, inserted] = entities_.try_emplace(rest[0]);
    EntityState& e = it->second;
    const bool was = !inserted && Compare(e.value, m.comparison, m.threshold);
    double v = 0;
    if (!ParseDouble(value, &v)) return malformed();
    // A distinct entity's value is its number of members (in "emh" rows); its
    // "e" row only says it exists.
    if (m.aggregate == EntityAggregate::kDistinct) {
      e.has_row = true;
    } else {
      e.value = v;
    }
    const bool is = Compare(e.value, m.comparison, m.threshold);
    satisfied_ += static_cast<int>(is) - static_cast<int>(was);
  } else {
    return malformed();
  }
  return absl::OkStatus();
}

void MeasureCell::FinishRestore() {
  if (restored_members_.empty()) return;
  members_.InsertAll(restored_members_);
  std::vector<std::vector<absl::uint128>>().swap(restored_members_);
}

void MeasureCell::DeleteRows(const MeasureSpec& m, const CellAddress& at, StateDelta* delta) const {
  switch (m.kind) {
    case MeasureKind::kEvents:
    case MeasureKind::kSum: delta->Delete(at.key->Make({"c", at.window, at.group})); return;
    case MeasureKind::kDistinct:
      // Make({..., ""}) ends in the separator: the prefix covers exactly this
      // window and group.
      delta->DeletePrefix(at.key->Make({"dh", at.window, at.group, ""}));
      return;
    case MeasureKind::kEntities:
      delta->DeletePrefix(at.key->Make({"e", at.window, at.group, ""}));
      if (m.aggregate == EntityAggregate::kDistinct) {
        delta->DeletePrefix(at.key->Make({"emh", at.window, at.group, ""}));
      }
      return;
    case MeasureKind::kRatio: return;
  }
}

}  // namespace nsmd
