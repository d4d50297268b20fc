// RenderStatusPage: the HTML page nsmd serves on GET / for people.
#ifndef NSMD_DAEMON_EXPORT_STATUS_PAGE_H_
#define NSMD_DAEMON_EXPORT_STATUS_PAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/engine/metric_definition.h"
#include "daemon/engine/metric_snapshot.h"

namespace nsmd {

// The daemon's health as the status page shows it.
struct DaemonHealth {
  int64_t consumer_lag = -1;  // messages behind, over the assigned partitions; -1 unknown
  uint64_t consumed = 0;
  uint64_t applied = 0;
  uint64_t rejected = 0;
  uint64_t late = 0;
  uint64_t duplicate = 0;
  bool ready = false;
  std::string not_ready_reason;  // when !ready
};

// A self-contained HTML document (inline CSS and script, no external assets):
// the north star first (value of its current window, the previous window,
// the change between them, decision question, customer value), then its
// inputs as the definitions' tree (each input under the metric that lists it;
// metrics no input path reaches under "Guardrails" or "Other metrics"), then
// `health` and the stream time of `snapshot`, all rendered as of `now`.
// Every value is in the HTML as served; the inline script fetches the page
// again every 5 s and swaps the new content in (a <noscript> meta refresh
// does the same without script). Text from the definitions is HTML-escaped.
//
// For tests, the north star's value element is
// <span class="value" id="north-star-value" data-value="V">TEXT</span>, V
// being the value with 17 significant digits (a group-by north star has a
// row per series instead); each metric's card carries data-metric="NAME".
std::string RenderStatusPage(const std::vector<MetricDefinition>& metrics,
                             const MetricsSnapshot& snapshot, const DaemonHealth& health,
                             absl::Time now);

}  // namespace nsmd

#endif  // NSMD_DAEMON_EXPORT_STATUS_PAGE_H_
