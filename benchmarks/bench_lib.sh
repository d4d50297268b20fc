# Sourced by the benchmark scripts: a work dir that is removed at exit, with
# every process listed in PIDS killed first, and small helpers.

# Sets WORK (a new dir /tmp/nsmd-NAME.*) and PIDS; at exit kills PIDS, copies
# the *.log files of WORK to $LOGS_DIR if set, and removes WORK.
bench_init() { # bench_init NAME
  WORK=$(mktemp -d "/tmp/nsmd-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [[ -n ${LOGS_DIR:-} ]]; then mkdir -p "$LOGS_DIR" && cp "$WORK"/*.log "$LOGS_DIR"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}

now() { date +%s.%N; }
metric() { # metric PORT NAME -> the unlabelled sample's value, or empty
  { curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } | awk -v n="$2" '$1==n {print $2; exit}'
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
