#include "daemon/app/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace nsmd {
namespace {

std::atomic<bool> armed{false};
std::string* armed_name = nullptr;  // set once by InitCrashPointFromEnv, never freed
std::atomic<long long> passes_left{0};

}  // namespace

void InitCrashPointFromEnv() {
  const char* value = std::getenv("NSMD_TEST_CRASH_POINT");
  if (value == nullptr || armed) return;
  const absl::string_view v(value);
  const size_t colon = v.rfind(':');
  long long n = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(v.substr(colon + 1), &n) || n < 1) {
    std::fprintf(stderr,
                 "nsmd: ignoring NSMD_TEST_CRASH_POINT=\"%s\" (expected <name>:<n>, n >= 1)\n",
                 value);
    return;
  }
  armed_name = new std::string(v.substr(0, colon));
  passes_left = n;
  armed = true;
  std::fprintf(stderr, "nsmd: TEST ONLY: will SIGKILL itself at pass %lld of crash point %s\n", n,
               armed_name->c_str());
}

void CrashPoint(const char* name) {
  if (!armed.load(std::memory_order_acquire)) return;
  if (std::strcmp(name, armed_name->c_str()) != 0) return;
  if (passes_left.fetch_sub(1) != 1) return;
  std::fprintf(stderr, "nsmd: TEST ONLY: crash point %s reached; SIGKILL\n", name);
  raise(SIGKILL);
  _exit(137);  // not reached
}

bool CrashPointArmed(const char* name) {
  return armed.load(std::memory_order_acquire) && std::strcmp(name, armed_name->c_str()) == 0;
}

bool TestFailPoint(const char* name) {
  const char* value = std::getenv("NSMD_TEST_FAIL_POINT");
  return value != nullptr && std::strcmp(value, name) == 0;
}

}  // namespace nsmd
