// LoadConfigOrReport: the config-loading step the offline commands share.
#ifndef NSMD_DAEMON_APP_LOAD_CONFIG_OR_REPORT_H_
#define NSMD_DAEMON_APP_LOAD_CONFIG_OR_REPORT_H_

#include <optional>
#include <string>

#include "daemon/config/daemon_config.h"

namespace nsmd {

// Loads the config at `path`, writing every diagnostic (errors and warnings)
// to stderr as FILE:LINE:COL: message. Empty if it has errors.
std::optional<DaemonConfig> LoadConfigOrReport(const std::string& path);

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_LOAD_CONFIG_OR_REPORT_H_
