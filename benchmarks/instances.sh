#!/usr/bin/env bash
# Catch-up of one backlog by 1, 2 and 3 `nsmd run` instances in one consumer
# group (issue #22): total and per-instance throughput, and whether the
# instances' numbers add up to one instance's.
# Usage: benchmarks/instances.sh [EVENTS]   (default 2,000,000). Needs `make build`.
#
# The config is benchmarks/saas_per_user.yaml: the saas example's metrics over
# users (the ones one task per partition can compute; its team metrics need
# re-keying), keyed by userId.
# The backlog is produced by kcat from loadgen's events, one message per line
# (full message sets, as a loaded pipeline's producers send them).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
EVENTS=${1:-2000000}
PARTITIONS=128
TEAMS=${TEAMS:-20000}
REPEATS=${REPEATS:-3}
COUNTS=${COUNTS:-1 2 3}        # instance counts to run, e.g. COUNTS=1
CHANGELOG=${CHANGELOG:-auto}   # state.changelog: auto (on here) or off
NSMD=$BUILD/nsmd
source benchmarks/bench_lib.sh
bench_init instances
# The sum of nsm_metric_value over the instances on PORTS, per series, as
# "series value" lines (ratios left out: they are not summed).
combined_values() { # combined_values PORT...
  for port in "$@"; do curl -s "http://127.0.0.1:$port/metrics"; done |
    awk '/^nsm_metric_value\{/ && !/_rate"/ { i = index($0, "} "); v[substr($0, 1, i)] += substr($0, i + 2) }
         END { for (s in v) printf "%s %.6g\n", s, v[s] }' | sort
}

echo "== nsmd instances benchmark, $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

# Each run's group has its changelog topic (the mock has no CreateTopics).
TOPICS=product-events
for ((r = 1; r <= REPEATS; r++)); do
  for n in $COUNTS; do TOPICS+=",bench-n$n-r$r-product-events-changelog"; done
done
"$NSMD" broker --topic "$TOPICS" --partitions $PARTITIONS >"$WORK/broker.out" 2>"$WORK/broker.log" &
PIDS+=($!)
until [[ -s $WORK/broker.out ]]; do sleep 0.1; done
BOOTSTRAP=$(head -1 "$WORK/broker.out")

sed -e "s|^\(  brokers:\).*|\1 $BOOTSTRAP|" -e "s|^\(  topics:\).*|\1 [product-events]|" \
    -e "s|^\(  checkpoint_interval:.*\)|\1\n  changelog: $CHANGELOG|" \
    benchmarks/saas_per_user.yaml >"$WORK/instances.yaml"
"$NSMD" check --config "$WORK/instances.yaml" | grep '^tasks:'

echo "-- loading $EVENTS events with kcat (full message sets, keyed by userId)"
"$BUILD/benchmarks/loadgen" --output "$WORK/events.ndjson" --events "$EVENTS" --teams "$TEAMS" >/dev/null
sed -E 's/^(.*"userId":"([^"]*)".*)$/\2\t\1/' "$WORK/events.ndjson" |
  kcat -P -b "$BOOTSTRAP" -t product-events -K $'\t' -l -X linger.ms=50 -X batch.num.messages=10000
high=0
for ((p = 0; p < PARTITIONS; p++)); do
  high=$((high + $(kcat -Q -b "$BOOTSTRAP" -t "product-events:$p:-1" | awk '{print $4}')))
done
[[ $high -eq $EVENTS ]] || { echo "broker holds $high of $EVENTS events" >&2; exit 1; }

owned() { # owned PORT -> tasks the instance owns
  { curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } | grep -c '^nsmd_task_owned{' || true
}

# Runs N instances in a new group on the backlog; prints "wall steady c1 c2
# ...": seconds from the first message consumed by any to the last (joins
# and rebalances included); the rate from the moment the group's assignment
# is complete and stable (every partition owned once) to the last message;
# each instance's messages.
run() { # run N TAG
  local n=$1 ports=() pids=() i
  for ((i = 0; i < n; i++)); do
    local port; port=$(free_port)
    sed -e "s|^\(  group_id:\).*|\1 bench-$2|" -e "s|^\(  dir:\).*|\1 $WORK/state-$2-$i|" \
        -e "s|^\(  listen:\).*|\1 127.0.0.1:$port|" "$WORK/instances.yaml" >"$WORK/$2-$i.yaml"
    "$NSMD" run --config "$WORK/$2-$i.yaml" 2>"$WORK/$2-$i.log" &
    pids+=($!); PIDS+=($!); ports+=("$port")
  done
  local first="" stable="" stable_count=0 total=0
  while (( total < EVENTS )); do
    total=0
    local tasks=0
    for port in "${ports[@]}"; do
      c=$(metric "$port" nsmd_events_consumed_total); total=$((total + ${c:-0}))
      [[ -z $stable ]] && tasks=$((tasks + $(owned "$port")))
    done
    [[ -z $first && $total -gt 0 ]] && first=$(now)
    if [[ -z $stable && $tasks -eq $PARTITIONS ]]; then
      # Every task owned once, by instances that each own some.
      local all=1
      for port in "${ports[@]}"; do [[ $(owned "$port") -gt 0 ]] || all=0; done
      if [[ $all == 1 ]]; then stable=$(now); stable_count=$total; fi
    fi
    sleep 0.02
  done
  local last; last=$(now)
  sleep 2  # a checkpoint and a publish after the last message
  combined_values "${ports[@]}" >"$WORK/values-$2"
  local shares=""
  for port in "${ports[@]}"; do shares+=" $(metric "$port" nsmd_events_consumed_total)"; done
  for pid in "${pids[@]}"; do kill -TERM "$pid"; done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  python3 -c "print(f'{$last - $first:.3f} {($EVENTS - $stable_count) / ($last - $stable):.0f}$shares')"
}

echo "-- catch-up, $REPEATS rounds of $COUNTS instance(s) in turn, state.changelog: $CHANGELOG"
declare -A WALL STEADY
for ((r = 1; r <= REPEATS; r++)); do
  for n in $COUNTS; do
    read -r seconds steady shares < <(run "$n" "n$n-r$r")
    rate=$(python3 -c "print(f'{$EVENTS / $seconds:.0f}')")
    WALL[$n]+="$rate "; STEADY[$n]+="$steady "
    if [[ $n -gt 1 && -e $WORK/values-n1-r$r ]] && ! diff -q "$WORK/values-n1-r$r" "$WORK/values-n$n-r$r" >/dev/null; then
      echo "round $r: $n instances' summed values differ from one instance's:" >&2
      diff "$WORK/values-n1-r$r" "$WORK/values-n$n-r$r" | head -5 >&2
      exit 1
    fi
    echo "round $r: $n instance(s): first to last message ${seconds}s (${rate}/s)," \
      "from a stable assignment ${steady}/s; messages per instance:$shares"
  done
done
for n in $COUNTS; do
  python3 -c "
import statistics
wall = [float(x) for x in '${WALL[$n]}'.split()]
steady = [float(x) for x in '${STEADY[$n]}'.split()]
print(f'$n instance(s): median {statistics.median(steady):.0f} events/s in total from a stable '
      f'assignment ({statistics.median(steady) / $n:.0f} per instance), '
      f'{statistics.median(wall):.0f}/s first to last message (joins included)')"
done
echo "summed values equal one instance's in every round ($(wc -l <"$WORK/values-n1-r1") series)"
