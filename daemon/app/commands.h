// The nsmd subcommands. Each takes the arguments after its name and returns
// the process exit code: 0 success, 1 failure (e.g. invalid config), 2 usage.
#ifndef NSMD_DAEMON_APP_COMMANDS_H_
#define NSMD_DAEMON_APP_COMMANDS_H_

#include <string>
#include <vector>

namespace nsmd {

int RunCommand(const std::vector<std::string>& args);        // run_command.cc
int BrokerCommand(const std::vector<std::string>& args);     // broker_command.cc
int CheckCommand(const std::vector<std::string>& args);      // check_command.cc
int ReplayCommand(const std::vector<std::string>& args);     // replay_command.cc
int ValidateCommand(const std::vector<std::string>& args);   // validate_command.cc
int RulesCommand(const std::vector<std::string>& args);      // rules_command.cc
int DashboardCommand(const std::vector<std::string>& args);  // dashboard_command.cc

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_COMMANDS_H_
