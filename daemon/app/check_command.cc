#include <cstdio>

#include "daemon/app/commands.h"

namespace nsmd {

int CheckCommand(const std::vector<std::string>& args) {
  std::fputs("nsmd check: not implemented yet\n", stderr);
  return 1;
}

}  // namespace nsmd
