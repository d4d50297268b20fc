// NsmCollectable: the NSM metrics as Prometheus families, built at scrape
// time from the latest published snapshot.
#ifndef NSMD_DAEMON_EXPORT_NSM_COLLECTABLE_H_
#define NSMD_DAEMON_EXPORT_NSM_COLLECTABLE_H_

#include <memory>
#include <vector>

#include "daemon/export/snapshot_publisher.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace nsmd {

// A prometheus::Collectable that turns the SnapshotPublisher's current
// snapshot and definitions into four gauge families:
//
//   nsm_metric_value{metric, window, <group-by labels>}          the number
//   nsm_metric_window_start_seconds{metric, window, <group-by>}  window start
//   nsm_metric_series_rank{metric, <group-by labels>}            SeriesRank
//   nsm_metric_info{metric, role, description, customer_value,
//                   decision_question, cadence, owner, unit, inputs} 1
//
// `window` is "current" or "previous". A rank series exists per label set
// shown of a group-by metric that is not a ratio, "__other__" excepted.
// Every info series carries all nine
// labels, empty ones included, so the label set is the same for every metric.
// A group-by label that would collide with `metric`, `window` or an earlier
// label of the same series is renamed by prefixing "label_" (repeatedly, until
// unique); the engine already makes names valid, this is only defensive.
// Families without any series are left out.
//
// Thread-safe: Collect() only reads immutable snapshots obtained from the
// publisher. Shares ownership of the publisher.
class NsmCollectable : public prometheus::Collectable {
 public:
  // `publisher` must not be null.
  explicit NsmCollectable(std::shared_ptr<SnapshotPublisher> publisher);

  // Builds the families from the latest snapshot and definitions. Never
  // throws except std::bad_alloc.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::shared_ptr<SnapshotPublisher> publisher_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_NSM_COLLECTABLE_H_
