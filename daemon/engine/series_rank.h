// SeriesRank: which label sets a group-by metric keeps under max_series.
#ifndef NSMD_DAEMON_ENGINE_SERIES_RANK_H_
#define NSMD_DAEMON_ENGINE_SERIES_RANK_H_

#include <cstdint>

#include "daemon/engine/metric_snapshot.h"

namespace nsmd {

// The rank of a group-by label set: the top 53 bits of the XXH3-64 hash of
// its values joined by '\x1f' (the group key), so it is the same on every
// instance and version and exact as a Prometheus sample. Where a metric
// shows more than max_series label sets, the max_series of lowest rank
// (ties by labels) stay and the rest fold into "__other__": a choice that
// depends only on the set, not on which instance or task saw what, so the
// recording rules can make it again over the instances' sum.
uint64_t SeriesRank(const Labels& labels);

// True if every label of `labels` (at least one) is "__other__": the
// series of the label sets folded away, which has no rank.
bool IsOtherSeries(const Labels& labels);

}  // namespace nsmd

#endif  // NSMD_DAEMON_ENGINE_SERIES_RANK_H_
