#!/usr/bin/env bash
# Catch-up of a full-batch backlog by `nsmd run` on 1 core (taskset -c 0)
# and on every core, against the raw librdkafka consumer on the same
# backlog: REPEATS rounds of (raw, nsmd 1 core, nsmd all cores), medians.
# Usage: benchmarks/catchup_threads.sh [EVENTS]   (default 2,000,000)
#   CONFIG=benchmarks/saas_per_user.yaml (one task per partition)
#   NSMD=build/nsmd (e.g. another build's binary, to compare)
#   REPEATS=3
# Needs `make build`. Prints a report; benchmarks/RESULTS.md records it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
EVENTS=${1:-2000000}
PARTITIONS=128
TEAMS=${TEAMS:-20000}
REPEATS=${REPEATS:-3}
CONFIG=${CONFIG:-benchmarks/saas_per_user.yaml}
NSMD=${NSMD:-$BUILD/nsmd}
LOGS_DIR=${CATCHUP_LOGS:-}
source benchmarks/bench_lib.sh
bench_init catchup
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
# CPU seconds of each of the process's threads, summed by thread name
# (nsmd: the poll thread with the checkpoint and HTTP threads; nsmd-apply-N;
# rdk:*: librdkafka's).
thread_cpu() {
  local hz; hz=$(getconf CLK_TCK)
  for t in /proc/"$1"/task/*; do
    sed -E 's/^[0-9]+ \((.*)\) (.*)$/\1|\2/' "$t/stat" 2>/dev/null
  done | awk -F'|' -v hz="$hz" '{ split($2, f, " "); name = $1; sub(/rdk:.*/, "rdk:*", name); cpu[name] += (f[12] + f[13]) / hz }
    END { sep = ""; for (n in cpu) { printf "%s%s %.2f", sep, n, cpu[n]; sep = ", " } }'
}
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.0f}')" "$@"; }

echo "== nsmd catch-up by cores, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "config: $CONFIG ($("$NSMD" check --config "$CONFIG" 2>&1 | grep '^tasks:' | cut -d: -f2 | cut -d'(' -f1 | sed 's/^ //'))"

# Each run's group has its changelog topic (state.changelog is on for
# per-partition tasks in a group; the mock has no CreateTopics).
# A re-keyed config's repartition topics too (nsmd check names them).
FIELDS=$("$NSMD" check --config "$CONFIG" | sed -nE 's/^  [^ ]+-rekey-([^ :]+):.*/\1/p')
TOPICS=product-events
for ((r = 1; r <= REPEATS; r++)); do
  for g in one-$r all-$r; do
    TOPICS+=",$g-product-events-changelog"
    for f in $FIELDS; do TOPICS+=",$g-rekey-$f,$g-rekey-$f-changelog"; done
  done
done
"$NSMD" broker --topic "$TOPICS" --partitions $PARTITIONS >"$WORK/broker.out" 2>"$WORK/broker.log" &
PIDS+=($!)
until [[ -s $WORK/broker.out ]]; do sleep 0.1; done
BOOTSTRAP=$(head -1 "$WORK/broker.out")

# Full message sets, as a loaded pipeline's producers send them: kcat -l,
# one message per line, keyed by user (key<TAB>json).
"$BUILD/benchmarks/loadgen" --output "$WORK/events.ndjson" --events "$EVENTS" --teams "$TEAMS"
sed -E 's/^(.*"userId":"([^"]*)".*)$/\2\t\1/' "$WORK/events.ndjson" > "$WORK/keyed.tsv"
start=$(now)
kcat -P -b "$BOOTSTRAP" -t product-events -K $'\t' -l "$WORK/keyed.tsv"
echo "backlog: $EVENTS events keyed by user, produced by kcat -l in $(python3 -c "print(f'{$(now)-$start:.1f}')") s, $PARTITIONS partitions"
high=0; low=0
for ((p = 0; p < PARTITIONS; p++)); do
  high=$((high + $(kcat -Q -b "$BOOTSTRAP" -t "product-events:$p:-1" | awk '{print $4}')))
  low=$((low + $(kcat -Q -b "$BOOTSTRAP" -t "product-events:$p:-2" | awk '{print $4}')))
done
if [[ $((high - low)) -ne $EVENTS ]]; then
  echo "catchup: the broker retained $((high - low)) of $EVENTS events; use more TEAMS" >&2
  exit 1
fi

# time_nsmd NAME CPUS: nsmd run (taskset -c CPUS unless "all") consuming the
# backlog from the first message to the last (its status polled every 20 ms
# by consumed_watch.py). Prints "rate cpu_seconds" and
# keeps the log's per-thread line in $WORK/NAME.split.
time_nsmd() {
  local port; port=$(free_port)
  sed -e "s|^\(  brokers:\).*|\1 $BOOTSTRAP|" -e "s|^\(  group_id:\).*|\1 $1|" \
      -e "s|^\(  dir:\).*|\1 $WORK/state-$1|" -e "s|^\(  listen:\).*|\1 127.0.0.1:$port|" \
      "$CONFIG" > "$WORK/$1.yaml"
  local prefix=()
  [[ $2 != all ]] && prefix=(taskset -c "$2")
  "${prefix[@]}" "$NSMD" run --config "$WORK/$1.yaml" 2>"$WORK/$1.log" & local pid=$!
  PIDS+=("$pid")
  local first last
  if ! read -r first last < <(python3 benchmarks/consumed_watch.py --expect "$EVENTS" --port "$port" --pid "$pid"); then
    echo "catchup: nsmd $1 exited: $(tail -1 "$WORK/$1.log")" >&2; exit 1
  fi
  local cpu; cpu=$(cpu_seconds "$pid")
  thread_cpu "$pid" > "$WORK/$1.threads"
  kill -TERM "$pid"; wait "$pid" || true
  { grep 'by thread' "$WORK/$1.log" | sed 's/.*by thread: *//' | tr '\n' ' '; echo "| CPU-s by thread: $(cat "$WORK/$1.threads")"; } > "$WORK/$1.split" || true
  python3 -c "print(f'{$EVENTS/($last-$first):.0f} $cpu')"
}

RAW=(); ONE=(); ALL=()
for ((r = 1; r <= REPEATS; r++)); do
  raw=$("$BUILD/benchmarks/raw_consumer" --brokers "$BOOTSTRAP" --topic product-events --group "raw-$r" --expect "$EVENTS" | sed 's/.*rate=//')
  read -r one one_cpu < <(time_nsmd "one-$r" 0)
  read -r all all_cpu < <(time_nsmd "all-$r" all)
  RAW+=("$raw"); ONE+=("$one"); ALL+=("$all")
  echo "round $r: raw $raw/s; nsmd 1 core $one/s ($one_cpu CPU-s; $(cat "$WORK/one-$r.split"));" \
    "nsmd all cores $all/s ($all_cpu CPU-s; $(cat "$WORK/all-$r.split")); load average $(cut -d' ' -f1 /proc/loadavg)"
done
raw=$(median "${RAW[@]}"); one=$(median "${ONE[@]}"); all=$(median "${ALL[@]}")
echo "medians of $REPEATS: raw $raw/s; nsmd 1 core $one/s (ratio $(python3 -c "print(f'{$one/$raw:.2f}')"));" \
  "nsmd all cores $all/s (ratio $(python3 -c "print(f'{$all/$raw:.2f}')"), $(python3 -c "print(f'{$all/$one:.2f}')")x 1 core)"
