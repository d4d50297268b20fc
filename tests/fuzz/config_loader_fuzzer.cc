// libFuzzer target: any bytes as a config file. The loader must report
// diagnostics (never crash, hang or throw), and a config it accepts must have
// exactly one north star, as it promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nsmd::ConfigLoadResult result = nsmd::ParseConfig(text, "fuzz.yaml");
  if (result.config) {
    int north_stars = 0;
    for (const nsmd::MetricDefinition& m : result.config->metrics) {
      north_stars += m.metadata.role == nsmd::MetricRole::kNorthStar;
    }
    if (north_stars != 1) std::abort();
  } else if (result.diagnostics.empty()) {
    std::abort();  // a rejected config always says why
  }
  return 0;
}
