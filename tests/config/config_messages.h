// Helpers of the config tests: a valid north star to build snippets on, and
// the diagnostics of a config as "FILE:LINE:COL: message" strings.
#ifndef NSMD_TESTS_CONFIG_CONFIG_MESSAGES_H_
#define NSMD_TESTS_CONFIG_CONFIG_MESSAGES_H_

#include <string>
#include <vector>

#include "daemon/config/config_loader.h"

namespace nsmd {

// Lines 1-5 of most snippets: a valid north star.
inline constexpr char kWau[] = R"(metrics:
  - name: wau
    role: north_star
    measure: {distinct: userId}
    window: {tumbling: week}
)";

// Every diagnostic of `text`, read as the file "t.yaml", in file order.
inline std::vector<std::string> Messages(const std::string& text) {
  std::vector<std::string> out;
  for (const ConfigDiagnostic& d : ParseConfig(text, "t.yaml").diagnostics) {
    out.push_back(d.ToString());
  }
  return out;
}

}  // namespace nsmd

#endif  // NSMD_TESTS_CONFIG_CONFIG_MESSAGES_H_
