#!/usr/bin/env python3
"""Writes N events of N distinct users (one each), 100 ms apart from
2024-01-01T00:00Z, spread over 5,000 `properties.bucket` values: the input of
the large-state part of e2e.sh (10 M distinct members, and 10,000 series of
the weekly metric: 5,000 buckets, each with its current and previous week)."""
import sys

n = int(sys.argv[1])
start_ms = 1704067200000
out = sys.stdout
write = out.write
for i in range(n):
    write('{"type":"track","event":"signed_in","userId":"user-%d","messageId":"m-%d",'
          '"timestamp":%d,"properties":{"bucket":"b%d"}}\n' % (i, i, start_ms + i * 100, i % 5000))
