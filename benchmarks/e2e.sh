#!/usr/bin/env bash
# End-to-end benchmark of nsmd against the raw librdkafka consumer ceiling,
# in one run on one machine (figures are ratios because machines are noisy).
# Usage: benchmarks/e2e.sh [EVENTS]   (default 2,000,000). Needs `make build`.
# Prints a report; benchmarks/RESULTS.md records it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
EVENTS=${1:-2000000}
PARTITIONS=128
# Users to key by: the model's ~6 users a team, so 20,000 teams spread 2 M
# events evenly enough over 128 partitions to stay under the mock broker's
# 5 MiB a partition (300 teams leave hot users overflowing their partition).
TEAMS=${TEAMS:-20000}
LARGE_MEMBERS=${LARGE_MEMBERS:-10000000}
NSMD=$BUILD/nsmd
WORK=$(mktemp -d /tmp/nsmd-e2e.XXXXXX)
PIDS=()
# E2E_LOGS=DIR keeps every process's log there (the work dir is removed).
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  if [[ -n ${E2E_LOGS:-} ]]; then mkdir -p "$E2E_LOGS" && cp "$WORK"/*.log "$E2E_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
metric() { # metric PORT NAME -> value or empty
  { curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } | awk -v n="$2" '$1==n {print $2; exit}'
}
peak_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A saas config pointing at the bench broker, its own group and state dir.
saas_config() { # saas_config NAME TOPIC PORT -> path
  local path=$WORK/$1.yaml
  sed -e "s|^\(  brokers:\).*|\1 $BOOTSTRAP|" \
      -e "s|^\(  topics:\).*|\1 [$2]|" \
      -e "s|^\(  group_id:\).*|\1 $1|" \
      -e "s|^\(  dir:\).*|\1 $WORK/state-$1|" \
      -e "s|^\(  listen:\).*|\1 127.0.0.1:$3|" config/examples/saas.yaml > "$path"
  echo "$path"
}

# Times nsmd consuming EXPECT messages: first message to last, by scraping
# nsmd_events_consumed_total every 20 ms. Prints "rate peak_rss_mib
# last_message_time".
time_nsmd() { # time_nsmd NAME TOPIC EXPECT
  local port; port=$(free_port)
  local config; config=$(saas_config "$1" "$2" "$port")
  "$NSMD" run --config "$config" 2>"$WORK/$1.log" & local pid=$!
  PIDS+=("$pid")
  local first="" last="" c=0
  while true; do
    c=$(metric "$port" nsmd_events_consumed_total); c=${c:-0}
    if [[ -z $first && $c != 0 ]]; then first=$(now); fi
    if [[ ${c%.*} -ge $3 ]]; then last=$(now); break; fi
    sleep 0.02
  done
  local rss; rss=$(peak_rss_mib "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  python3 -c "print(f'{$3/($last-$first):.0f} $rss $last')"
}

echo "== nsmd end-to-end benchmark, $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

"$NSMD" broker --topic product-events,live-raw,live-nsmd,large-state --partitions $PARTITIONS >"$WORK/broker.out" 2>"$WORK/broker.log" &
PIDS+=($!)
until [[ -s $WORK/broker.out ]]; do sleep 0.1; done
BOOTSTRAP=$(head -1 "$WORK/broker.out")
echo "broker: $BOOTSTRAP, $PARTITIONS partitions per topic"

echo "-- loading a backlog of $EVENTS events (keyed by user)"
"$BUILD/benchmarks/loadgen" --brokers "$BOOTSTRAP" --topic product-events --events "$EVENTS" --teams "$TEAMS"
# Every event must still be there (the mock broker drops the oldest data of
# a partition past 5 MiB): otherwise no reader could ever reach EVENTS.
retained() { # retained TOPIC -> messages between low and high watermarks
  local high=0 low=0 p
  for ((p = 0; p < PARTITIONS; p++)); do
    high=$((high + $(kcat -Q -b "$BOOTSTRAP" -t "$1:$p:-1" | awk '{print $4}')))
    low=$((low + $(kcat -Q -b "$BOOTSTRAP" -t "$1:$p:-2" | awk '{print $4}')))
  done
  echo $((high - low))
}
KEPT=$(retained product-events)
if [[ $KEPT -ne $EVENTS ]]; then
  echo "e2e: the broker retained $KEPT of $EVENTS events (a partition overflowed); use more TEAMS" >&2
  exit 1
fi

# The machine's CPU is shared (steal time varies minute to minute), so the
# catch-up is measured REPEATS times, raw consumer then nsmd, each pair back
# to back; the report gives every pair's ratio and the best pair's.
REPEATS=${REPEATS:-3}
echo "-- catch-up on the same backlog, each reader in its own group ($REPEATS pairs)"
CATCHUP_RATIO=0; RAW_RATE=0; NSMD_RATE=0; NSMD_RSS=0
for ((r = 1; r <= REPEATS; r++)); do
  RAW=$("$BUILD/benchmarks/raw_consumer" --brokers "$BOOTSTRAP" --topic product-events --group "raw-catchup-$r" --expect "$EVENTS")
  raw_rate=$(sed 's/.*rate=//' <<<"$RAW")
  read -r nsmd_rate nsmd_rss _ < <(time_nsmd "nsmd-catchup-$r" product-events "$EVENTS")
  ratio=$(python3 -c "print(f'{$nsmd_rate/$raw_rate:.2f}')")
  echo "pair $r: raw rate=$raw_rate nsmd (saas config, exactly-once checkpoints) rate=$nsmd_rate peak_rss_mib=$nsmd_rss ratio $ratio"
  if python3 -c "import sys; sys.exit(0 if $ratio > $CATCHUP_RATIO else 1)"; then
    CATCHUP_RATIO=$ratio; RAW_RATE=$raw_rate; NSMD_RATE=$nsmd_rate; NSMD_RSS=$nsmd_rss
  fi
done
echo "catch-up ratio $CATCHUP_RATIO (best pair: nsmd $NSMD_RATE/s, raw $RAW_RATE/s)"

LIVE=$((EVENTS / 2))
echo "-- concurrent: each reader consumes while the load generator produces $LIVE events"
"$BUILD/benchmarks/raw_consumer" --brokers "$BOOTSTRAP" --topic live-raw --group raw-live --expect "$LIVE" >"$WORK/raw-live.out" &
RAWPID=$!; sleep 4  # let it join its group first
"$BUILD/benchmarks/loadgen" --brokers "$BOOTSTRAP" --topic live-raw --events "$LIVE" --seed 7 --teams "$TEAMS" >"$WORK/load-raw.out"
PRODUCED_AT=$(now)
wait $RAWPID; RAW_LAST=$(now); RAW_LIVE=$(sed 's/.*rate=//' "$WORK/raw-live.out")
( sleep 4; "$BUILD/benchmarks/loadgen" --brokers "$BOOTSTRAP" --topic live-nsmd --events "$LIVE" --seed 7 --teams "$TEAMS" >"$WORK/load-nsmd.out"; now >"$WORK/load-nsmd.end" ) &
LOADPID=$!
read -r NSMD_LIVE _ NSMD_LAST < <(time_nsmd nsmd-live live-nsmd "$LIVE")
wait $LOADPID
LIVE_RATIO=$(python3 -c "print(f'{$NSMD_LIVE/$RAW_LIVE:.2f}')")
# The producer shares the two cores with the reader, so each reader's run
# also says how fast the load generator produced beside it.
PRODUCED_RAW=$(sed 's/.*rate=//' "$WORK/load-raw.out"); PRODUCED_NSMD=$(sed 's/.*rate=//' "$WORK/load-nsmd.out")
# How far behind the producer each reader finished: its last message after
# the producer's last send returned (negative: before; 20 ms resolution
# for nsmd).
RAW_BEHIND=$(python3 -c "print(f'{$RAW_LAST-$PRODUCED_AT:.2f}')")
NSMD_BEHIND=$(python3 -c "print(f'{$NSMD_LAST-$(cat "$WORK/load-nsmd.end"):.2f}')")
echo "concurrent: raw rate=$RAW_LIVE (producer beside it $PRODUCED_RAW/s, raw done ${RAW_BEHIND}s after it)" \
  "nsmd rate=$NSMD_LIVE (producer beside it $PRODUCED_NSMD/s, nsmd done ${NSMD_BEHIND}s after it) ratio $LIVE_RATIO"

echo "-- nsmd replay on one core (no Kafka), $EVENTS events"
"$BUILD/benchmarks/loadgen" --output "$WORK/events.ndjson" --events "$EVENTS" --teams "$TEAMS"
sed -e "s|^\(  dir:\).*|\1 $WORK/state-replay|" config/examples/saas.yaml > "$WORK/replay.yaml"
# Wall-clock rate, and the rate per CPU-second the process used (user +
# system), which steal time on a shared machine does not dilute.
/usr/bin/time -f "cpu_seconds %U %S" -o "$WORK/replay.time" \
  taskset -c 0 "$NSMD" replay --config "$WORK/replay.yaml" --input "$WORK/events.ndjson" >/dev/null 2>"$WORK/replay.err"
REPLAY_RATE=$(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$WORK/replay.err")
REPLAY_CPU_RATE=$(awk -v n="$EVENTS" '/cpu_seconds/ {printf "%.0f", n / ($2 + $3)}' "$WORK/replay.time")
echo "replay rate=$REPLAY_RATE (wall clock), $REPLAY_CPU_RATE per CPU-second"

echo "-- large state: $LARGE_MEMBERS distinct users, restart to ready, peak RSS, scrape of 10,000 series"
python3 benchmarks/large_state_events.py "$LARGE_MEMBERS" > "$WORK/large.ndjson"
PORT=$(free_port)
sed -e "s|^\(  brokers:\).*|\1 $BOOTSTRAP|" -e "s|^\(  dir:\).*|\1 $WORK/state-large|" \
    -e "s|^\(  listen:\).*|\1 127.0.0.1:$PORT|" -e "s|^\(  group_id:\).*|\1 large|" \
    benchmarks/large_state.yaml > "$WORK/large.yaml"
"$NSMD" replay --config "$WORK/large.yaml" --input "$WORK/large.ndjson" --state-dir "$WORK/state-large" >/dev/null 2>"$WORK/large-replay.err" &
LPID=$!; PEAK=0
while kill -0 $LPID 2>/dev/null; do r=$(peak_rss_mib $LPID 2>/dev/null || echo 0); [[ ${r:-0} -gt $PEAK ]] && PEAK=$r; sleep 0.5; done
wait $LPID
echo "replay holding $LARGE_MEMBERS members: peak_rss_mib=$PEAK"
# run_until_ready CONFIG LOG: starts `nsmd run`; sets RPID, and READY to the
# seconds from the start to /readyz 200.
run_until_ready() {
  local start; start=$(now)
  "$NSMD" run --config "$1" 2>"$2" & RPID=$!; PIDS+=("$RPID")
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.01; done
  READY=$(python3 -c "print(f'{$(now)-$start:.2f}')")
}
run_until_ready "$WORK/large.yaml" "$WORK/large-run.log"
until curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null; do sleep 0.01; done
SERIES=$(curl -s "http://127.0.0.1:$PORT/metrics" | grep -c '^nsm_metric_value{' || true)
SCRAPES=$(for _ in 1 2 3 4 5; do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT/metrics"; done | sort -n)
SCRAPE="median $(echo "$SCRAPES" | sed -n 3p) slowest $(echo "$SCRAPES" | tail -1)"

RUN_RSS=$(peak_rss_mib "$RPID")
kill -TERM "$RPID"; wait "$RPID" || true
echo "restart to ready ${READY}s (includes the consumer-group join); peak_rss_mib=$RUN_RSS; scrape of $SERIES nsm series (s): $SCRAPE"
grep 'state loaded' "$WORK/large-run.log" || true
# The same restart without a consumer group: nsmd assigns itself every
# partition (kafka.assignment: all), so no group join or rebalance delay.
sed -e 's|^\(  group_id:.*\)|\1\n  assignment: all|' "$WORK/large.yaml" > "$WORK/large-all.yaml"
run_until_ready "$WORK/large-all.yaml" "$WORK/large-run-all.log"
kill -TERM "$RPID"; wait "$RPID" || true
echo "restart to ready without a consumer group (kafka.assignment: all) ${READY}s"
grep 'state loaded' "$WORK/large-run-all.log" || true
ROWS=$(sed -n 's/.*state loaded: \([0-9]*\) rows.*/\1/p' "$WORK/large-run.log")
# Distinct members are stored as 16-byte hashes in blob rows, so the useful
# figure is bytes on disk per member held (plus the rows' count).
du -sb "$WORK/state-large" | awk -v k="${ROWS:-0}" -v m="$LARGE_MEMBERS" \
  '{ printf "state: %d bytes on disk, %d rows, %.1f bytes per distinct member\n", $1, k, $1/m }'
