#!/usr/bin/env python3
"""Writes the history of config/examples/validation.yaml, deterministically.

The weekly numbers are chosen first, so the answers of `nsmd validate` are
known by construction, then events are drawn to produce exactly them:

  C[w]  teams with >= 3 people editing or commenting in week w (the north
        star): a noisy AR(1) driven partly by accepted invites I[w];
  S[w]  documents shared = 3 * C[w-1] + noise: leads revenue by 1 week;
  R[w]  revenue, from about C[w-2] / 2 invoices: lags the north star by 2;
  V[w]  campaign visitors who read one page: independent of everything, so
        weekly active users (mostly visitors) does not lead revenue.

Usage:
  validation_history.py [--weeks N] [--scale K] [--truth FILE] [--level L] OUT.ndjson.gz
--scale multiplies teams and visitors (for benchmarks); --truth writes the
weekly C, S, I, R as JSON for tests.
"""
import argparse
import datetime
import gzip
import io
import json
import random

WEEK = 7 * 24 * 3600
START = datetime.datetime(2025, 1, 6, tzinfo=datetime.timezone.utc)  # a Monday


def iso(seconds):
    return (START + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--weeks", type=int, default=60)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--truth")
    ap.add_argument("--level", type=int, default=9, help="gzip level (1 is faster)")
    args = ap.parse_args()
    rng = random.Random(21)
    k = args.scale
    teams = 400 * k
    quiet = 60 * k  # active teams with fewer than 3 people: not counted

    ar, prev_c = 0.0, 120 * k
    truth = {"C": [], "S": [], "I": [], "R": []}
    c_hist = [120 * k, 120 * k]
    events = 0
    # mtime=0 and no file name in the gzip header: the same bytes every run.
    with open(args.out, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=args.level, mtime=0) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8") as out:
        msg = 0

        def emit(t, event, user, team=None, props=None):
            nonlocal msg, events
            msg += 1
            events += 1
            ctx = ',"context":{"groupId":"team-%d"}' % team if team is not None else ""
            prop = ',"properties":%s' % json.dumps(props, separators=(",", ":")) if props else ""
            return ('{"type":"track","event":"%s","userId":"%s"%s%s,"timestamp":"%s",'
                    '"messageId":"m%d"}\n' % (event, user, ctx, prop, iso(t), msg))

        for w in range(args.weeks):
            base = w * WEEK
            ar = 0.7 * ar + rng.gauss(0, 1)
            invites = max(5, round(40 * k + 12 * k * rng.gauss(0, 1)))
            iz = (invites - 40 * k) / (12 * k)
            c = round(120 * k + 18 * k * (0.6 * iz + 0.8 * ar) + 0.3 * k * w)
            c = max(20 * k, min(teams - quiet, c))
            shares = max(0, round(3 * c_hist[-1] + rng.gauss(0, 15 * k)))
            invoices = max(1, round(0.5 * c_hist[-2] + rng.gauss(0, 5 * k)))
            visitors = round(600 * k + 500 * k * rng.random() + (1500 * k if rng.random() < 0.2 else 0))
            lines = []
            at = lambda: base + rng.randrange(WEEK)
            chosen = rng.sample(range(teams), c + quiet)
            for i, team in enumerate(chosen):
                n = rng.randint(3, 6) if i < c else rng.randint(1, 2)
                for member in rng.sample(range(6), n):
                    for _ in range(rng.randint(1, 3)):
                        t = at()
                        lines.append((t, emit(t, rng.choice(["file_edited", "comment_added"]),
                                              "u-%d-%d" % (team, member), team)))
            for _ in range(invites):
                team = rng.randrange(teams)
                t = at()
                lines.append((t, emit(t, "invite_accepted", "u-%d-%d" % (team, rng.randrange(6)), team)))
            for _ in range(shares):
                team = rng.randrange(teams)
                t = at()
                lines.append((t, emit(t, "document_shared", "u-%d-%d" % (team, rng.randrange(6)), team)))
            revenue = 0
            for _ in range(invoices):
                team = rng.randrange(teams)
                amount = rng.choice([49, 99, 149, 199])
                revenue += amount
                t = at()
                lines.append((t, emit(t, "invoice_paid", "u-%d-0" % team, team, {"amount": amount})))
            for v in range(visitors):
                t = at()
                lines.append((t, emit(t, "page_viewed", "v-%d-%d" % (w, v))))
            lines.sort(key=lambda x: x[0])
            out.writelines(line for _, line in lines)
            c_hist.append(c)
            for key, value in (("C", c), ("S", shares), ("I", invites), ("R", revenue)):
                truth[key].append(value)
        # One event in the next week, so that the last week is complete.
        out.write(emit(args.weeks * WEEK + 3600, "page_viewed", "v-end"))
    if args.truth:
        with open(args.truth, "w") as f:
            json.dump(truth, f)
            f.write("\n")
    print("%d events, %d weeks" % (events, args.weeks))


if __name__ == "__main__":
    main()
