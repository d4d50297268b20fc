// TempStateDir: a private temporary state dir for one-off commands.
#ifndef NSMD_DAEMON_APP_TEMP_STATE_DIR_H_
#define NSMD_DAEMON_APP_TEMP_STATE_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace nsmd {

// A private temporary state dir, removed with its contents on destruction.
class TempStateDir {
 public:
  // Creates a new empty dir under the system temp dir; Unavailable if it
  // cannot.
  static absl::StatusOr<TempStateDir> Create() {
    std::string pattern = (std::filesystem::temp_directory_path() / "nsmd-replay-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create a temporary state dir in ",
                                                 std::filesystem::temp_directory_path().string()));
    }
    return TempStateDir(pattern);
  }
  TempStateDir(TempStateDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  ~TempStateDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  // The dir's absolute path.
  const std::string& path() const { return path_; }

 private:
  explicit TempStateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace nsmd

#endif  // NSMD_DAEMON_APP_TEMP_STATE_DIR_H_
