// AlertmanagerSnippetBuilder: an Alertmanager configuration to start from
// or merge, for the alerts `nsmd rules` generates.
#ifndef NSMD_DAEMON_OPS_ALERTMANAGER_SNIPPET_BUILDER_H_
#define NSMD_DAEMON_OPS_ALERTMANAGER_SNIPPET_BUILDER_H_

#include <string>

#include "daemon/config/daemon_config.h"

namespace nsmd {

// Builds a complete alertmanager.yml (amtool check-config accepts it):
//  - a route sending the daemon's alerts (alertname Nsmd*) to receiver
//    "nsmd-operators" and each metric owner's alerts (label owner) to
//    "nsm-<owner>", grouped by metric;
//  - an inhibit rule: while nsmd of a job is down, not ready, stalled,
//    lagging or consuming nothing, that job's NsmMetric* alerts are held
//    back (a drop the pipeline causes is not a drop of the business);
//  - the receivers, without integrations: fill in where they notify.
// Holds a reference to `config`, which must outlive it.
class AlertmanagerSnippetBuilder {
 public:
  explicit AlertmanagerSnippetBuilder(const DaemonConfig& config) : config_(config) {}

  // The alertmanager.yml text.
  std::string Build() const;

 private:
  const DaemonConfig& config_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_OPS_ALERTMANAGER_SNIPPET_BUILDER_H_
