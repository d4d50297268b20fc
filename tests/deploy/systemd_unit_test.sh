#!/usr/bin/env bash
# deploy/systemd/nsmd.service: `systemd-analyze verify` finds no problem and
# `systemd-analyze security` scores its exposure at most MAX_EXPOSURE (tenths:
# 15 = 1.5 of 10; the unit scores 1.1). verify needs ExecStart's binary to
# exist, so it checks a copy whose ExecStart is the built nsmd.
# Usage: systemd_unit_test.sh SOURCE_DIR NSMD_BINARY
set -euo pipefail
src=$1 nsmd=$2
MAX_EXPOSURE=15
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unit=$src/deploy/systemd/nsmd.service
grep -q '^ExecStart=/usr/local/bin/nsmd ' "$unit"
sed "s#^ExecStart=/usr/local/bin/nsmd #ExecStart=$nsmd #" "$unit" >"$dir/nsmd.service"

# verify exits 0 on some warnings (e.g. an unknown key): any output fails.
out=$(systemd-analyze verify --man=no "$dir/nsmd.service" 2>&1) || { echo "$out"; exit 1; }
if [[ -n $out ]]; then
  echo "systemd-analyze verify complained:"; echo "$out"; exit 1
fi
if ! systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE "$dir/nsmd.service" \
    >"$dir/security" 2>&1; then
  cat "$dir/security"
  echo "exposure above $MAX_EXPOSURE/100 (see the ✗ lines above)"; exit 1
fi
grep 'Overall exposure' "$dir/security"

# What the deployment relies on: state dir, reload by SIGHUP, stop by SIGTERM.
for line in 'StateDirectory=nsmd' 'ExecReload=/bin/kill -HUP $MAINPID' 'KillSignal=SIGTERM' \
    'ProtectSystem=strict' 'DynamicUser=yes'; do
  grep -qxF "$line" "$unit" || { echo "missing: $line"; exit 1; }
done
grep -q -- '--state-dir ${STATE_DIRECTORY}' "$unit" || { echo "ExecStart ignores StateDirectory="; exit 1; }
echo "ok"
