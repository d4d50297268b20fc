#include "daemon/engine/contribution.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "daemon/engine/member_hash.h"
#include "daemon/engine/state_key.h"

namespace nsmd {

std::string Contribution::Encode() const {
  std::string out = FormatDouble(amount);
  out.push_back('\0');
  out.append(entity);
  out.push_back('\0');
  out.append(member);
  out.push_back('\0');
  out.append(group);
  return out;
}

bool Contribution::Decode(const std::string& text) {
  // group may itself contain separators of its own, so split into 4 at most.
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('\0', 3));
  if (parts.size() != 4 || !ParseDouble(parts[0], &amount)) return false;
  entity = std::move(parts[1]);
  member = std::move(parts[2]);
  member_hash = HashMember(member);
  group = std::move(parts[3]);
  return true;
}

bool MakeContribution(const MeasureSpec& measure, const Event& event, Contribution* c) {
  c->time = event.time;
  c->amount = 1;
  c->entity.clear();
  c->member.clear();
  c->member_hash = 0;
  switch (measure.kind) {
    case MeasureKind::kEvents: return true;
    case MeasureKind::kDistinct: {
      const FieldValue& v = event.field(measure.field);
      if (!v.IsKey()) return false;
      c->member_hash = v.KeyHash();
      return true;
    }
    case MeasureKind::kSum: {
      const FieldValue& v = event.field(measure.field);
      if (v.kind != FieldValue::Kind::kNumber) return false;
      c->amount = v.number;
      return true;
    }
    case MeasureKind::kEntities: {
      const FieldValue& e = event.field(measure.entity);
      if (!e.IsKey()) return false;
      e.AppendKeyText(&c->entity);
      // An event without the aggregate field still makes its entity exist
      // (with nothing added), so "sum(F) < 1" or "distinct(F) == 0" can
      // count an entity whose events all lack F.
      if (measure.aggregate == EntityAggregate::kDistinct) {
        const FieldValue& v = event.field(measure.aggregate_field);
        if (v.IsKey()) {
          c->member_hash = v.KeyHash();
        } else {
          c->amount = 0;  // no member
        }
      } else if (measure.aggregate == EntityAggregate::kSum) {
        const FieldValue& v = event.field(measure.aggregate_field);
        c->amount = v.kind == FieldValue::Kind::kNumber ? v.number : 0;
      }
      return true;
    }
    case MeasureKind::kRatio: return false;
  }
  return false;
}

void KeepMemberText(const MeasureSpec& measure, const Event& event, Contribution* c) {
  c->member.clear();
  const FieldValue& v = event.field(MemberField(measure));
  if (v.IsKey()) v.AppendKeyText(&c->member);
}

}  // namespace nsmd
