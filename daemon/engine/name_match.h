// NameMatch: which of a metric's filters accept an event's name.
#ifndef NSMD_DAEMON_ENGINE_NAME_MATCH_H_
#define NSMD_DAEMON_ENGINE_NAME_MATCH_H_

namespace nsmd {

// Whether a metric's filter, and its cohort anchor (false for a metric
// without cohort), accept an event's name (Filter::AcceptsName). The Engine
// works it out once per event name, so the hot path evaluates only the
// filters' predicates.
struct NameMatch {
  bool filter = false;
  bool anchor = false;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_NAME_MATCH_H_
