#include "daemon/app/command_line.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace nsmd {

absl::StatusOr<CommandLine> CommandLine::Parse(
    const std::vector<std::string>& args, std::initializer_list<absl::string_view> value_flags,
    std::initializer_list<absl::string_view> bool_flags) {
  auto contains = [](std::initializer_list<absl::string_view> list, absl::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg.remove_prefix(2);
    std::string name(arg);
    std::optional<std::string> value;
    if (auto eq = arg.find('='); eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    }
    if (contains(bool_flags, name)) {
      if (value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      cl.values_[name] = "true";
    } else if (contains(value_flags, name)) {
      if (!value) {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        }
        value = args[++i];
      }
      cl.values_[name] = *value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return cl;
}

std::optional<std::string> CommandLine::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

}  // namespace nsmd
