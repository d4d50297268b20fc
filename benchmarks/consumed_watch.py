#!/usr/bin/env python3
"""Times nsmd instances consuming a backlog, at little cost to them.

Polls events.consumed of /api/v1/status on each port every INTERVAL seconds
over one kept-alive connection per port, and prints
"FIRST LAST" (Unix times): the first poll that saw a message consumed, and
the first that saw the sum over the ports reach EXPECT. Exits 1 if a
process given with --pid exits first.

Why not curl: a curl | awk pipeline forked every 20 ms costs about a third of
a core, which a 2-core catch-up measurement takes from nsmd (the raw
consumer it is compared with times itself and pays nothing).

Usage: consumed_watch.py --expect N --port P [--port P2 ...] [--pid PID]
"""
import argparse
import http.client
import json
import os
import sys
import time


def consumed(conn):
    conn.request("GET", "/api/v1/status")
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        return 0
    return int(json.loads(body)["events"]["consumed"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--port", type=int, action="append", required=True)
    parser.add_argument("--pid", type=int, action="append", default=[])
    parser.add_argument("--interval", type=float, default=0.02)
    args = parser.parse_args()
    conns = {}
    first = None
    while True:
        total = 0
        for port in args.port:
            try:
                if port not in conns:
                    conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                total += consumed(conns[port])
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                conns.pop(port, None)  # not listening yet, or restarted
        now = time.time()
        if first is None and total > 0:
            first = now
        if total >= args.expect:
            print(f"{first:.6f} {now:.6f}")
            return 0
        for pid in args.pid:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                print(f"consumed_watch: process {pid} exited at {total} of {args.expect}",
                      file=sys.stderr)
                return 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
