#include "daemon/engine/metric_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace nsmd {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

MetricState::MetricState(const MetricDefinition* definition, const Calendar* calendar,
                         int64_t allowed_lateness_ms)
    : def_(definition),
      calendar_(calendar),
      key_(MetricKeyPrefix(definition->name, definition->fingerprint)),
      groups_(definition->group_by, definition->max_series),
      cohort_length_ms_(absl::ToInt64Milliseconds(definition->window.length)),
      lateness_ms_(allowed_lateness_ms),
      rolling_length_s_(absl::ToInt64Seconds(definition->window.length)),
      window_start_(definition->window.kind == WindowKind::kCohort ? definition->window.period
                                                                   : definition->window.unit) {}

void MetricState::Apply(const Event& event, NameMatch names, StateDelta* delta) {
  const WindowSpec& w = def_->window;
  if (w.kind == WindowKind::kCohort) {
    ApplyCohort(event, names, delta);
    return;
  }
  if (!names.filter || !def_->filter.MatchesPredicate(event)) return;
  if (!MakeContribution(def_->measure, event, &scratch_)) return;
  scratch_.group = groups_.Resolve(event);
  switch (w.kind) {
    case WindowKind::kTumbling:
      AddToCell(window_start_.Get(*calendar_, event.time.millis()), scratch_);
      return;
    case WindowKind::kLifetime: AddToCell(0, scratch_); return;
    case WindowKind::kRolling: AddRolling(scratch_); return;
    case WindowKind::kCohort: return;
  }
}

void MetricState::Prefetch(const Event& event, NameMatch names) {
  const WindowSpec& w = def_->window;
  const MeasureSpec& m = def_->measure;
  const bool distinct = m.kind == MeasureKind::kDistinct;
  // Only distinct and entities measures probe tables by the event's keys.
  if ((!distinct && m.kind != MeasureKind::kEntities) || !names.filter ||
      !def_->filter.MatchesPredicate(event)) {
    return;
  }
  if (w.kind == WindowKind::kCohort) {
    // The anchor lookup comes first (it tells which cohort, so which cell,
    // the event belongs to).
    const FieldValue& e = event.field(w.cohort_entity);
    if (!e.IsKey()) return;
    prefetch_scratch_.clear();
    e.AppendKeyText(&prefetch_scratch_);
    anchors_.prefetch(prefetch_scratch_);
  }
  // The member of a distinct measure; the entity of an entities measure
  // (in prefetch_scratch_) and its distinct member, if any.
  const FieldValue& v = event.field(distinct ? m.field : m.entity);
  if (!v.IsKey()) return;
  if (!distinct) {
    prefetch_scratch_.clear();
    v.AppendKeyText(&prefetch_scratch_);
  }
  std::optional<absl::uint128> member;
  if (const FieldValue& mv = event.field(MemberField(m)); mv.IsKey()) member = mv.KeyHash();
  groups_.KeyOf(event, &prefetch_group_);
  if (w.kind == WindowKind::kRolling) {
    if (!distinct) return;
    auto it = rolling_.find(prefetch_group_);
    if (it != rolling_.end()) it->second.members.Prefetch(*member);
    return;
  }
  const MeasureCell* cell = PrefetchedCell(event);
  if (cell != nullptr) cell->Prefetch(m, prefetch_scratch_, member);
}

const MeasureCell* MetricState::PrefetchedCell(const Event& event) {
  const WindowSpec& w = def_->window;
  if (w.kind == WindowKind::kCohort) {
    // Which cohort is known only from the anchor: guess the cell used last.
    return last_cell_ != nullptr && prefetch_group_ == last_cell_group_ ? last_cell_ : nullptr;
  }
  const int64_t window =
      w.kind == WindowKind::kTumbling ? window_start_.Get(*calendar_, event.time.millis()) : 0;
  if (last_cell_ != nullptr && window == last_cell_window_ && prefetch_group_ == last_cell_group_) {
    return last_cell_;
  }
  auto cells = windows_.find(window);
  if (cells == windows_.end()) return nullptr;
  auto cell = cells->second.find(prefetch_group_);
  return cell == cells->second.end() ? nullptr : &cell->second;
}

void MetricState::AddToCell(int64_t window, const Contribution& c) {
  // Consecutive events mostly land in the same cell: skip both lookups then.
  // Any insertion below may move other cells (btree nodes, table growth), so
  // the cache only ever holds the cell just found or inserted.
  if (last_cell_ == nullptr || window != last_cell_window_ || c.group != last_cell_group_) {
    last_cell_ = &windows_[window][c.group];
    last_cell_window_ = window;
    last_cell_group_ = c.group;
  }
  if (last_cell_->Add(def_->measure, c)) dirty_cells_.emplace_back(window, c.group);
}

void MetricState::AddRolling(const Contribution& c) {
  auto [git, new_group] = rolling_.try_emplace(c.group);
  RollingGroup& g = git->second;
  const int64_t second = FloorDiv(c.time.millis(), 1000);
  switch (def_->measure.kind) {
    case MeasureKind::kDistinct:
      if (!g.members.Add(c.member_hash, second)) return;
      break;
    case MeasureKind::kEvents:
    case MeasureKind::kSum: {
      auto [it, inserted] = g.buckets.try_emplace(second, 0.0);
      it->second += c.amount;
      if (g.dirty_seconds.empty() || g.dirty_seconds.back() != second) {
        g.dirty_seconds.push_back(second);  // repeats are harmless: the row is rewritten
      }
      break;
    }
    case MeasureKind::kEntities:  // refused over rolling windows by the config loader
    case MeasureKind::kRatio:     // computed from other metrics: no state
      return;
  }
  if (!g.dirty) {
    g.dirty = true;
    dirty_rolling_.push_back(c.group);
  }
}

void MetricState::TakeDelta(StateDelta* delta) {
  for (const auto& [window, group] : dirty_cells_) {
    auto w = windows_.find(window);
    if (w == windows_.end()) continue;
    auto cell = w->second.find(group);
    if (cell == w->second.end()) continue;
    cell->second.WriteChanges(def_->measure, CellAddress{&key_, absl::StrCat(window), group},
                              delta);
  }
  dirty_cells_.clear();
  for (const std::string& group : dirty_rolling_) {
    auto it = rolling_.find(group);
    if (it == rolling_.end()) continue;
    RollingGroup& g = it->second;
    for (int64_t second : g.dirty_seconds) {
      auto b = g.buckets.find(second);
      if (b == g.buckets.end()) continue;
      delta->Put(key_.Make({"rb", group, absl::StrCat(second)}), FormatDouble(b->second));
    }
    g.members.WriteChanges(key_, group, delta);
    g.dirty_seconds.clear();
    g.dirty = false;
  }
  dirty_rolling_.clear();
  for (const std::string& entity : unwritten_pending_) {
    auto it = pending_.find(entity);
    if (it == pending_.end()) continue;  // its anchor arrived: nothing to write
    for (Pending& p : it->second) {
      if (p.persisted) continue;
      delta->Put(PendingKey(entity, p), p.contribution.Encode());
      p.persisted = true;
    }
  }
  unwritten_pending_.clear();
}

std::string MetricState::PendingKey(const std::string& entity, const Pending& p) const {
  return key_.Make({"p", entity, absl::StrCat(p.contribution.time.millis()), absl::StrCat(p.seq)});
}

void MetricState::ApplyCohort(const Event& event, NameMatch names, StateDelta* delta) {
  const WindowSpec& w = def_->window;
  // The anchor first: an anchor event that also passes the filter counts in
  // the window it opens.
  const FieldValue& e = event.field(w.cohort_entity);
  if (!e.IsKey()) return;  // neither an anchor nor a contribution
  const bool anchors = names.anchor && w.anchor.MatchesPredicate(event);
  const bool contributes = names.filter && def_->filter.MatchesPredicate(event);
  if (!anchors && !contributes) return;
  std::string& entity = entity_scratch_;
  entity.clear();
  e.AppendKeyText(&entity);
  if (anchors) SetAnchor(entity, event.time, delta);
  if (!contributes) return;
  if (!MakeContribution(def_->measure, event, &scratch_)) return;
  scratch_.group = groups_.Resolve(event);
  auto anchor = anchors_.find(entity);
  if (anchor == anchors_.end()) {
    // Out of order: hold it until the anchor arrives (or lateness passes).
    // Its row is written at the next TakeDelta if it is still pending then,
    // with the member's text.
    KeepMemberText(def_->measure, event, &scratch_);
    std::vector<Pending>& items = pending_[entity];
    if (items.empty() || items.back().persisted) unwritten_pending_.push_back(entity);
    items.push_back(Pending{scratch_, next_pending_seq_++});
    return;
  }
  const int64_t start = anchor->second;
  if (!InCohort(start, event.time)) return;
  AddToCell(window_start_.Get(*calendar_, start), scratch_);
}

void MetricState::SetAnchor(const std::string& entity, EventTime time, StateDelta* delta) {
  // The first anchor seen wins; a later anchor of the same entity opens a
  // new window only once the old one ended the allowed lateness before it
  // (the sweep drops no anchor earlier, so this does not depend on whether
  // it has run). From here on the anchor is a window start, in ms.
  const int64_t start = time.millis();
  auto [slot, inserted] = anchors_.try_emplace(entity, start);
  if (!inserted) {
    if (start < slot->second + cohort_length_ms_ + lateness_ms_) return;
    slot->second = start;
  }
  delta->Put(key_.Make({"a", entity}), absl::StrCat(start));
  auto it = pending_.find(entity);
  if (it == pending_.end()) return;
  const int64_t period = window_start_.Get(*calendar_, start);
  for (const Pending& p : it->second) {
    const Contribution& c = p.contribution;
    if (p.persisted) delta->Delete(PendingKey(entity, p));
    if (InCohort(start, c.time)) AddToCell(period, c);
  }
  pending_.erase(it);
}

void MetricState::FinishRestore() {
  for (auto& [window, cells] : windows_) {
    for (auto& [group, cell] : cells) cell.FinishRestore();
  }
}

absl::Status MetricState::Restore(const std::vector<std::string>& parts, absl::string_view value) {
  auto malformed = [&] {
    return absl::DataLossError(absl::StrCat("malformed state row of metric \"", def_->name, "\""));
  };
  if (parts.empty()) return malformed();
  const std::string& kind = parts[0];
  if (kind == "c" || kind == "dh" || kind == "e" || kind == "emh") {
    int64_t window = 0;
    if (parts.size() < 3 || !ParseInt64(parts[1], &window)) return malformed();
    groups_.Restore(parts[2]);
    std::vector<std::string> rest(parts.begin() + 3, parts.end());
    last_cell_ = nullptr;  // the insertion may move cells
    return windows_[window][parts[2]].Restore(def_->measure, kind, rest, value);
  }
  if (kind == "rb" || kind == "rdh") {
    if (parts.size() != 3) return malformed();
    groups_.Restore(parts[1]);
    RollingGroup& g = rolling_[parts[1]];
    if (kind == "rdh") return g.members.Restore(parts[2], value);
    int64_t second = 0;
    double v = 0;
    if (!ParseInt64(parts[2], &second) || !ParseDouble(value, &v)) return malformed();
    g.buckets[second] = v;
    return absl::OkStatus();
  }
  if (kind == "a") {
    int64_t t = 0;
    if (parts.size() != 2 || !ParseInt64(value, &t)) return malformed();
    anchors_[parts[1]] = t;
    return absl::OkStatus();
  }
  if (kind == "p") {
    int64_t t = 0, seq = 0;
    if (parts.size() != 4 || !ParseInt64(parts[2], &t) || !ParseInt64(parts[3], &seq)) {
      return malformed();
    }
    Pending p;
    if (!p.contribution.Decode(std::string(value))) return malformed();
    p.contribution.time = EventTime(t);
    p.seq = static_cast<uint64_t>(seq);
    p.persisted = true;
    next_pending_seq_ = std::max(next_pending_seq_, p.seq + 1);
    groups_.Restore(p.contribution.group);
    pending_[parts[1]].push_back(std::move(p));
    return absl::OkStatus();
  }
  return malformed();
}

int64_t MetricState::PreviousCohortPeriod(int64_t now_ms) const {
  const CalendarUnit period = def_->window.period;
  // The period containing (now - length) still has open member windows; the
  // one before it is the newest whose every window [anchor, anchor+length)
  // ended at or before now.
  return calendar_->PreviousWindowStart(period,
                                        calendar_->WindowStart(period, now_ms - cohort_length_ms_));
}

void MetricState::Expire(EventTime now, EventTime horizon, StateDelta* delta) {
  if (now == EventTime()) return;
  const int64_t now_ms = now.millis();
  const int64_t horizon_ms = horizon.millis();
  const WindowSpec& w = def_->window;
  auto drop_before = [&](int64_t keep_from, int64_t extra_ms, CalendarUnit unit) {
    while (!windows_.empty()) {
      auto it = windows_.begin();
      const int64_t start = it->first;
      if (start >= keep_from) break;
      if (calendar_->NextWindowStart(unit, start) + extra_ms > horizon_ms) break;
      const std::string window = absl::StrCat(start);
      for (const auto& [group, cell] : it->second) {
        cell.DeleteRows(def_->measure, CellAddress{&key_, window, group}, delta);
      }
      windows_.erase(it);
      last_cell_ = nullptr;
    }
  };
  switch (w.kind) {
    case WindowKind::kTumbling:
      drop_before(calendar_->PreviousWindowStart(w.unit, calendar_->WindowStart(w.unit, now_ms)), 0,
                  w.unit);
      return;
    case WindowKind::kCohort: {
      drop_before(PreviousCohortPeriod(now_ms), cohort_length_ms_, w.period);
      ExpireAnchors(horizon_ms, delta);
      for (auto it = pending_.begin(); it != pending_.end();) {
        auto& items = it->second;
        auto keep = std::partition(items.begin(), items.end(), [&](const Pending& p) {
          return p.contribution.time >= horizon;
        });
        for (auto p = keep; p != items.end(); ++p) {
          if (p->persisted) delta->Delete(PendingKey(it->first, *p));
        }
        items.erase(keep, items.end());
        if (items.empty()) {
          pending_.erase(it++);
        } else {
          ++it;
        }
      }
      return;
    }
    case WindowKind::kRolling: {
      // A second s counts while s > now_s - length_s; older ones never again.
      const int64_t oldest_kept = FloorDiv(now_ms, 1000) - rolling_length_s_ + 1;
      for (auto& [group, g] : rolling_) {
        while (!g.buckets.empty() && g.buckets.begin()->first < oldest_kept) {
          delta->Delete(key_.Make({"rb", group, absl::StrCat(g.buckets.begin()->first)}));
          g.buckets.erase(g.buckets.begin());
        }
        g.members.Expire(oldest_kept, key_, group, delta);
      }
      return;
    }
    case WindowKind::kLifetime: return;
  }
}

void MetricState::ExpireAnchors(int64_t horizon_ms, StateDelta* delta) {
  anchor_floor_ = std::max(anchor_floor_, horizon_ms);
  if (anchor_sweep_floor_ &&
      anchor_floor_ - *anchor_sweep_floor_ < std::max<int64_t>(cohort_length_ms_ / 8, 1)) {
    return;
  }
  anchor_sweep_floor_ = anchor_floor_;
  for (auto it = anchors_.begin(); it != anchors_.end();) {
    // Any event still applicable is at or after the horizon, so an anchor
    // event would replace this one (SetAnchor).
    if (it->second + cohort_length_ms_ + lateness_ms_ <= anchor_floor_) {
      delta->Delete(key_.Make({"a", it->first}));
      anchors_.erase(it++);
    } else {
      ++it;
    }
  }
}

int64_t MetricState::WindowEnd(int64_t start, int64_t now_ms) const {
  const WindowSpec& w = def_->window;
  switch (w.kind) {
    case WindowKind::kTumbling: return calendar_->NextWindowStart(w.unit, start);
    case WindowKind::kCohort: return calendar_->NextWindowStart(w.period, start);
    default: return now_ms;
  }
}

void MetricState::AppendCells(int64_t window, const std::string& label, int64_t now_ms,
                              bool zero_if_empty, std::vector<SeriesSample>* out) const {
  const int64_t end = WindowEnd(window, now_ms);
  auto it = windows_.find(window);
  if (it == windows_.end() || it->second.empty()) {
    if (zero_if_empty && def_->group_by.empty()) {
      out->push_back(SeriesSample{def_->name, {}, label, window, end, 0});
    }
    return;
  }
  for (const auto& [group, cell] : it->second) {
    out->push_back(SeriesSample{def_->name, groups_.LabelsOf(group), label, window, end,
                                cell.Value(def_->measure)});
  }
}

double MetricState::RollingValue(const RollingGroup& g, int64_t now_ms) const {
  const int64_t oldest = FloorDiv(now_ms, 1000) - rolling_length_s_ + 1;
  const int64_t newest = FloorDiv(now_ms, 1000);
  switch (def_->measure.kind) {
    case MeasureKind::kDistinct: return static_cast<double>(g.members.CountBetween(oldest, newest));
    case MeasureKind::kEvents:
    case MeasureKind::kSum: {
      double sum = 0;
      for (auto it = g.buckets.lower_bound(oldest); it != g.buckets.end() && it->first <= newest;
           ++it) {
        sum += it->second;
      }
      return sum;
    }
    case MeasureKind::kEntities:  // refused over rolling windows by the config loader
    case MeasureKind::kRatio:     // computed from other metrics: no state
      return 0;
  }
  return 0;  // not reached: every kind is handled above
}

void MetricState::Snapshot(EventTime now, std::vector<SeriesSample>* out) const {
  if (now == EventTime()) return;
  const int64_t now_ms = now.millis();
  const WindowSpec& w = def_->window;
  switch (w.kind) {
    case WindowKind::kTumbling: {
      const int64_t current = calendar_->WindowStart(w.unit, now_ms);
      AppendCells(current, "current", now_ms, true, out);
      AppendCells(calendar_->PreviousWindowStart(w.unit, current), "previous", now_ms, true, out);
      return;
    }
    case WindowKind::kCohort:
      AppendCells(calendar_->WindowStart(w.period, now_ms), "current", now_ms, true, out);
      AppendCells(PreviousCohortPeriod(now_ms), "previous", now_ms, true, out);
      return;
    case WindowKind::kLifetime: AppendCells(0, "current", now_ms, true, out); return;
    case WindowKind::kRolling: {
      const int64_t start = (FloorDiv(now_ms, 1000) - rolling_length_s_ + 1) * 1000;
      const int64_t end = (FloorDiv(now_ms, 1000) + 1) * 1000;
      if (rolling_.empty() && def_->group_by.empty()) {
        out->push_back(SeriesSample{def_->name, {}, "current", start, end, 0});
      }
      for (const auto& [group, g] : rolling_) {
        out->push_back(SeriesSample{def_->name, groups_.LabelsOf(group), "current", start, end,
                                    RollingValue(g, now_ms)});
      }
      return;
    }
  }
}

void MetricState::AllWindows(EventTime now, std::vector<SeriesSample>* out) const {
  if (def_->window.kind == WindowKind::kRolling) {
    const size_t first = out->size();
    Snapshot(now, out);
    for (size_t i = first; i < out->size(); ++i) (*out)[i].window.clear();
    return;
  }
  for (const auto& [window, cells] : windows_) {
    AppendCells(window, "", now.millis(), false, out);
  }
}

}  // namespace nsmd
