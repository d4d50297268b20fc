#!/usr/bin/env bash
# The single list of nsmd's system dependencies (Debian 12 packages).
# Installs only what is missing; safe to run repeatedly.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev librocksdb-dev prometheus-cpp-dev libcivetweb-dev libmicrohttpd-dev libgnutls28-dev libcrypt-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev libyaml-cpp-dev
  libre2-dev libxxhash-dev libjemalloc-dev zlib1g-dev libcurl4-openssl-dev
  clang clang-format clang-tidy libclang-rt-14-dev
  kcat prometheus curl openssl python3 time
  chromium systemd nodejs
  nlohmann-json3-dev prometheus-alertmanager python3-jsonschema python3-yaml
)
# npm: Debian's package, unless an npm is already there (NodeSource's nodejs
# ships its own, and Debian's npm would conflict with it).
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
