#include <cstdio>

#include "daemon/app/commands.h"

namespace nsmd {

int BrokerCommand(const std::vector<std::string>& args) {
  std::fputs("nsmd broker: not implemented yet\n", stderr);
  return 1;
}

}  // namespace nsmd
