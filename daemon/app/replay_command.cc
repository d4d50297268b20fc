#include <cstdio>

#include "daemon/app/commands.h"

namespace nsmd {

int ReplayCommand(const std::vector<std::string>& args) {
  std::fputs("nsmd replay: not implemented yet\n", stderr);
  return 1;
}

}  // namespace nsmd
