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
LARGE_MEMBERS=${LARGE_MEMBERS:-10000000}  # 0 skips the large-state step
NSMD=$BUILD/nsmd
# E2E_LOGS=DIR keeps every process's log there (the work dir is removed).
LOGS_DIR=${E2E_LOGS:-}
source benchmarks/bench_lib.sh
bench_init e2e
peak_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# A saas config pointing at the bench broker, its own group and state dir,
# as one instance reading everything runs it: one whole-input task
# (kafka.rekey: false; re-keyed, for several instances, see
# catchup_threads.sh with CONFIG=config/examples/saas.yaml).
saas_config() { # saas_config NAME TOPIC PORT -> path
  local path=$WORK/$1.yaml
  sed -e "s|^\(  brokers:\).*|\1 $BOOTSTRAP|" \
      -e "s|^\(  key_field:.*\)|\1\n  rekey: false|" \
      -e "s|^\(  topics:\).*|\1 [$2]|" \
      -e "s|^\(  group_id:\).*|\1 $1|" \
      -e "s|^\(  dir:\).*|\1 $WORK/state-$1|" \
      -e "s|^\(  listen:\).*|\1 127.0.0.1:$3|" config/examples/saas.yaml > "$path"
  echo "$path"
}

# Times nsmd consuming EXPECT messages: first message to last, as its
# status (published every 200 ms) shows them, polled every 20 ms by
# consumed_watch.py. Prints "rate peak_rss_mib last_message_time".
time_nsmd() { # time_nsmd NAME TOPIC EXPECT
  local port; port=$(free_port)
  local config; config=$(saas_config "$1" "$2" "$port")
  "$NSMD" run --config "$config" 2>"$WORK/$1.log" & local pid=$!
  PIDS+=("$pid")
  local first last
  read -r first last < <(python3 benchmarks/consumed_watch.py --expect "$3" --port "$port" --pid "$pid")
  local rss; rss=$(peak_rss_mib "$pid")
  kill -TERM "$pid"; wait "$pid" || true
  python3 -c "print(f'{$3/($last-$first):.0f} $rss $last')"
}

echo "== nsmd end-to-end benchmark, $(date -u +%FT%TZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

"$NSMD" broker --topic product-events,loadgen-backlog,live-raw,live-nsmd,pace,large-state --partitions $PARTITIONS >"$WORK/broker.out" 2>"$WORK/broker.log" &
PIDS+=($!)
until [[ -s $WORK/broker.out ]]; do sleep 0.1; done
BOOTSTRAP=$(head -1 "$WORK/broker.out")
echo "broker: $BOOTSTRAP, $PARTITIONS partitions per topic"

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
check_retained() { # check_retained TOPIC EXPECT
  local kept; kept=$(retained "$1")
  if [[ $kept -ne $2 ]]; then
    echo "e2e: the broker retained $kept of $2 events of $1 (a partition overflowed); use more TEAMS" >&2
    exit 1
  fi
}

# Two backlogs of the same events. The headline one is produced the way a
# loaded pipeline's producers send: full message sets (kcat -l, keyed by
# user). The second is loadgen's (linger 20 ms spread over the partitions:
# small sets), which lowers every consumer's ceiling (a per-set cost).
echo "-- loading backlog 1 of $EVENTS events with kcat (full message sets, keyed by user)"
"$BUILD/benchmarks/loadgen" --output "$WORK/keyed.tsv" --events "$EVENTS" --teams "$TEAMS" --keyed
t0=$(now)
kcat -P -b "$BOOTSTRAP" -t product-events -K $'\t' -l "$WORK/keyed.tsv"
echo "kcat produced $EVENTS events in $(python3 -c "print(f'{$(now)-$t0:.2f}')") s"
rm -f "$WORK/keyed.tsv"
check_retained product-events "$EVENTS"
python3 benchmarks/message_sets.py "$BOOTSTRAP" product-events "$PARTITIONS"
echo "-- loading backlog 2 of the same $EVENTS events with loadgen (linger 20 ms)"
"$BUILD/benchmarks/loadgen" --brokers "$BOOTSTRAP" --topic loadgen-backlog --events "$EVENTS" --teams "$TEAMS"
check_retained loadgen-backlog "$EVENTS"
python3 benchmarks/message_sets.py "$BOOTSTRAP" loadgen-backlog "$PARTITIONS"

# The machine's CPU is shared (steal time and other users vary minute to
# minute), so the catch-up is measured in REPEATS alternating pairs (raw
# consumer, then nsmd, back to back); every pair is printed and the ratio
# reported is the median pair's.
REPEATS=${REPEATS:-3}
catch_up() { # catch_up LABEL TOPIC
  local r ratios=() line lines=()
  for ((r = 1; r <= REPEATS; r++)); do
    local raw raw_rate nsmd_rate nsmd_rss ratio
    raw=$("$BUILD/benchmarks/raw_consumer" --brokers "$BOOTSTRAP" --topic "$2" --group "raw-$1-$r" --expect "$EVENTS")
    raw_rate=$(sed 's/.*rate=//' <<<"$raw")
    read -r nsmd_rate nsmd_rss _ < <(time_nsmd "nsmd-$1-$r" "$2" "$EVENTS")
    ratio=$(python3 -c "print(f'{$nsmd_rate/$raw_rate:.3f}')")
    line="raw $raw_rate/s, nsmd $nsmd_rate/s (peak_rss_mib=$nsmd_rss), ratio $ratio"
    echo "$1 pair $r: $line"
    lines+=("$ratio $line")
  done
  printf '%s\n' "${lines[@]}" | sort -n | sed -n "$(((REPEATS + 1) / 2))p" |
    awk -v l="$1" '{ $1 = ""; print l " catch-up, median pair:" $0 }'
}
echo "-- catch-up, backlog 1 (kcat, full sets): each reader in its own group, $REPEATS alternating pairs" \
  "(nsmd: saas config, exactly-once checkpoints)"
catch_up full-sets product-events
echo "-- catch-up, backlog 2 (loadgen, small sets): $REPEATS alternating pairs"
catch_up loadgen loadgen-backlog

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

# Keeping pace: a producer paced at PACE_RATE events/s (loadgen --rate,
# the connection made before the clock starts) while nsmd runs; nsmd's
# consumed count is sampled every 20 ms against the producer's progress
# (events acknowledged by the broker; also those queued in the producer).
PACE_RATE=${PACE_RATE:-300000}
PACE_EVENTS=${PACE_EVENTS:-$((PACE_RATE * 6))}
echo "-- keeping pace: a producer at $PACE_RATE events/s sends $PACE_EVENTS events while nsmd runs"
PACE_PORT=$(free_port)
"$NSMD" run --config "$(saas_config nsmd-pace pace "$PACE_PORT")" 2>"$WORK/nsmd-pace.log" & PACE_PID=$!
PIDS+=("$PACE_PID")
until curl -sf "http://127.0.0.1:$PACE_PORT/readyz" >/dev/null; do sleep 0.05; done
sleep 1
"$BUILD/benchmarks/loadgen" --brokers "$BOOTSTRAP" --topic pace --events "$PACE_EVENTS" --seed 11 \
  --teams "$TEAMS" --rate "$PACE_RATE" --progress "$WORK/pace.progress" >"$WORK/pace.out" &
PACE_LOAD=$!
# One sampling process with one connection (a curl per sample took ~0.5 s
# on a loaded machine).
python3 - "$PACE_PORT" "$PACE_EVENTS" "$WORK/pace.samples" <<'PY'
import http.client, sys, time
port, total, out = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "w")
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
while True:
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    t = time.time()
    c = next((float(l.split()[1]) for l in body.splitlines()
              if l.startswith("nsmd_events_consumed_total ")), 0.0)
    out.write(f"{t:.6f} {int(c)}\n")
    if c >= total: break
    time.sleep(0.02)
PY
wait $PACE_LOAD
kill -TERM "$PACE_PID"; wait "$PACE_PID" || true
python3 - "$WORK/pace.progress" "$WORK/pace.samples" "$PACE_EVENTS" <<'PY'
import bisect, statistics, sys
sent = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
seen = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
total = int(sys.argv[3])
ts = [s[0] for s in sent]
queued, delivered = [s[1] for s in sent], [s[2] for s in sent]
def interp(x, xs, ys):  # piecewise linear, clamped
    i = bisect.bisect_left(xs, x)
    if i == 0: return ys[0]
    if i == len(xs): return ys[-1]
    return ys[i-1] + (ys[i] - ys[i-1]) * (x - xs[i-1]) / (xs[i] - xs[i-1])
def when(n, counts):  # first time `counts` reached n (counts are non-decreasing)
    i = bisect.bisect_left(counts, n)
    if i == 0: return ts[0]
    if i == len(counts): return ts[-1]
    return ts[i-1] + (ts[i] - ts[i-1]) * (n - counts[i-1]) / max(counts[i] - counts[i-1], 1e-9)
start, last_queued, end = ts[0], ts[-2], ts[-1]
lag_events, lag_seconds, producer_queue = [], [], []
for t, c in seen:
    if not start <= t <= last_queued: continue
    on_broker = interp(t, ts, delivered)
    # Events the broker has acknowledged that nsmd has not consumed, and
    # how long ago the first of them was acknowledged.
    lag_events.append(max(0.0, on_broker - c))
    lag_seconds.append(max(0.0, t - when(c + 1, delivered)) if c < on_broker else 0.0)
    producer_queue.append(interp(t, ts, queued) - on_broker)
done = next(t for t, c in seen if c >= total)
q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
print(f"pace: producer queued {total} events in {last_queued - start:.2f} s "
      f"({(total - queued[0]) / (last_queued - start):.0f}/s; its own queue held median "
      f"{statistics.median(producer_queue):.0f} events not yet acknowledged), all acknowledged "
      f"{end - start:.2f} s after its start")
print(f"pace: nsmd lag behind the broker over {len(lag_events)} samples: events median "
      f"{statistics.median(lag_events):.0f} p99 {q(lag_events, 0.99):.0f} max {max(lag_events):.0f}; "
      f"seconds median {statistics.median(lag_seconds):.3f} p99 {q(lag_seconds, 0.99):.3f} "
      f"max {max(lag_seconds):.3f}")
print(f"pace: nsmd consumed the last event {done - end:.2f} s after the producer's last "
      f"acknowledgement ({done - last_queued:.2f} s after its last send was queued)")
PY

echo "-- nsmd replay on one core (no Kafka, taskset -c 1), $EVENTS events, 3 runs"
"$BUILD/benchmarks/loadgen" --output "$WORK/events.ndjson" --events "$EVENTS" --teams "$TEAMS"
sed -e "s|^\(  dir:\).*|\1 $WORK/state-replay|" config/examples/saas.yaml > "$WORK/replay.yaml"
# Wall-clock rate, and the rate per CPU-second the process used (user +
# system), which steal time on a shared machine does not dilute.
for r in 1 2 3; do
  rm -rf "$WORK/state-replay"
  /usr/bin/time -f "cpu_seconds %U %S" -o "$WORK/replay.time" \
    taskset -c 1 "$NSMD" replay --config "$WORK/replay.yaml" --input "$WORK/events.ndjson" >/dev/null 2>"$WORK/replay.err"
  REPLAY_RATE=$(sed -n 's/.*(\([0-9]*\) events\/s).*/\1/p' "$WORK/replay.err")
  REPLAY_CPU_RATE=$(awk -v n="$EVENTS" '/cpu_seconds/ {printf "%.0f", n / ($2 + $3)}' "$WORK/replay.time")
  echo "replay run $r: rate=$REPLAY_RATE (wall clock), $REPLAY_CPU_RATE per CPU-second ($(cat "$WORK/replay.time"))"
done
rm -f "$WORK/events.ndjson"

if [[ $LARGE_MEMBERS -eq 0 ]]; then exit 0; fi
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
