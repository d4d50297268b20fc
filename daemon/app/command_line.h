// CommandLine: the flags of one nsmd subcommand.
#ifndef NSMD_DAEMON_APP_COMMAND_LINE_H_
#define NSMD_DAEMON_APP_COMMAND_LINE_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nsmd {

// Parses "--name value", "--name=value" and boolean "--name" flags. Each
// subcommand declares which flags it takes, so a typo is an error naming the
// flag, not a silently ignored argument.
class CommandLine {
 public:
  // `args` excludes the program and subcommand names. `value_flags` take a
  // value; `bool_flags` do not. Returns InvalidArgument for an unknown flag,
  // a missing value or a positional argument.
  [[nodiscard]] static absl::StatusOr<CommandLine> Parse(
      const std::vector<std::string>& args, std::initializer_list<absl::string_view> value_flags,
      std::initializer_list<absl::string_view> bool_flags = {});

  // The value of --name, if given.
  std::optional<std::string> Get(absl::string_view name) const;
  // True if boolean flag --name was given.
  bool Has(absl::string_view name) const { return values_.contains(name); }

 private:
  absl::flat_hash_map<std::string, std::string> values_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_COMMAND_LINE_H_
