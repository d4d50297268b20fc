#include "daemon/engine/series_rank.h"

#include <string>

#include "daemon/engine/group_index.h"
#include "xxhash.h"

namespace nsmd {

uint64_t SeriesRank(const Labels& labels) {
  std::string key;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key.push_back('\x1f');
    key.append(labels[i].second);
  }
  return XXH3_64bits(key.data(), key.size()) >> 11;
}

bool IsOtherSeries(const Labels& labels) {
  for (const auto& [name, value] : labels) {
    if (value != GroupIndex::kOtherValue) return false;
  }
  return !labels.empty();
}

}  // namespace nsmd
