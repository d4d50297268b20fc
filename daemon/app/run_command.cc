#include <cstdio>

#include "daemon/app/commands.h"

namespace nsmd {

int RunCommand(const std::vector<std::string>& args) {
  std::fputs("nsmd run: not implemented yet\n", stderr);
  return 1;
}

}  // namespace nsmd
