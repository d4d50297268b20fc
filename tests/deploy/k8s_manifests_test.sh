#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml offline (k8s_validate.js). Installs the
# pinned npm packages of tests/deploy/k8s/ into the build folder first
# (npm ci, only when the lock file changed; node_modules is never committed).
# Usage: k8s_manifests_test.sh SOURCE_DIR BUILD_DIR NSMD_BINARY
set -euo pipefail
src=$1 build=$2 nsmd=$3
modules=$build/k8s-validate
if [[ ! -d $modules/node_modules ]] ||
   ! cmp -s "$src/tests/deploy/k8s/package-lock.json" "$modules/package-lock.json"; then
  rm -rf "$modules"
  mkdir -p "$modules"
  cp "$src/tests/deploy/k8s/package.json" "$src/tests/deploy/k8s/package-lock.json" "$modules/"
  (cd "$modules" && npm ci --no-audit --no-fund --loglevel=error)
fi
NODE_PATH=$modules/node_modules node "$src/tests/deploy/k8s_validate.js" "$src" "$nsmd"
