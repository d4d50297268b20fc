// Contribution: what one event adds to one window cell of a metric.
#ifndef NSMD_DAEMON_ENGINE_CONTRIBUTION_H_
#define NSMD_DAEMON_ENGINE_CONTRIBUTION_H_

#include <cstdint>
#include <string>

#include "absl/numeric/int128.h"
#include "daemon/base/event_time.h"
#include "daemon/decode/event.h"
#include "daemon/engine/metric_definition.h"

namespace nsmd {

// The measure-relevant part of an event, detached from the decoder's buffer
// (so it can wait, e.g. for a cohort anchor that has not arrived yet).
struct Contribution {
  EventTime time;      // the event's time
  std::string group;   // group-by key (GroupIndex), "" without group-by
  std::string entity;  // kEntities: the entity the event belongs to
  // kDistinct, or kEntities with a distinct aggregate: the member's hash
  // (FieldValue::KeyHash), and its text only where the contribution must
  // outlive the event as a row (pending: KeepMemberText).
  absl::uint128 member_hash = 0;
  std::string member;
  // kEvents: 1; kSum and sum aggregates: the value (0 if the event lacks a
  // numeric field); kEntities with a distinct aggregate: 1 if the event
  // names a member (member_hash), 0 if it has none (the entity exists, adds
  // nothing).
  double amount = 1;

  // Serialized form for pending rows: "amount\0entity\0member\0group"
  // (member: the text KeepMemberText set).
  std::string Encode() const;
  // Parses Encode()'s output (member_hash from the member's text); false if
  // malformed.
  bool Decode(const std::string& text);
};

// Fills *c (all but group) from `event` for `measure`. Returns false if the
// event cannot contribute: the distinct/entity field is missing or not a
// scalar, or the sum field is not a number. For kEntities only a missing
// entity fails: a missing aggregate field gives a zero contribution.
bool MakeContribution(const MeasureSpec& measure, const Event& event, Contribution* c);

// Sets c->member to the text of the member whose hash MakeContribution set
// (for a distinct measure, or an entities measure's distinct aggregate with
// a member), so that Encode() keeps it.
void KeepMemberText(const MeasureSpec& measure, const Event& event, Contribution* c);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_CONTRIBUTION_H_
