#!/usr/bin/env python3
"""HTTP under 1,000 stalled connections: /healthz and /metrics latency.

Starts `nsmd run` on config/demo.yaml (embedded broker, the SaaS generator,
the saas NSM tree) with http.request_timeout 120s (so the stalled
connections stay open while measuring), then times /healthz and /metrics
from a well-behaved client (a new connection per request), first alone,
then with 1,000 connections open: 500 that sent an incomplete request and
500 that sent a full GET /metrics and never read the answer (4 KiB receive
buffer). Also the server's RSS before and after, and a connection beyond
http.max_connections (run with max 1,100). Prints one table.

Usage: benchmarks/http_stall.py [build/nsmd]
"""
import os, re, socket, subprocess, sys, tempfile, time

NSMD = sys.argv[1] if len(sys.argv) > 1 else "build/nsmd"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def get(port, path, timeout=30):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:100]
    return (time.perf_counter() - t) * 1000, len(data)


def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def measure(port, label, rows):
    h = [get(port, "/healthz")[0] for _ in range(500)]
    m = [get(port, "/metrics") for _ in range(50)]
    ms = [x[0] for x in m]
    rows.append((label, pct(h, 50), pct(h, 99), max(h), pct(ms, 50), pct(ms, 99), max(ms), m[-1][1]))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="nsmd-http-stall-")
    config = os.path.join(tmp, "demo.yaml")
    text = open(os.path.join(ROOT, "config/demo.yaml")).read()
    text = re.sub(r"\nhttp:\n(  .*\n)*", f"\nhttp:\n  listen: 127.0.0.1:{port}\n"
                  "  request_timeout: 120s\n  max_connections: 1100\n", text)
    open(config, "w").write(text)
    proc = subprocess.Popen([NSMD, "run", "--config", config, "--state-dir", os.path.join(tmp, "state")],
                            stderr=open(os.path.join(tmp, "nsmd.log"), "w"))
    try:
        for _ in range(300):
            try:
                get(port, "/readyz", 1); break
            except Exception:
                time.sleep(0.1)
        time.sleep(8)  # the generator's 14 days of history are in (about 5 s)
        rows = []
        measure(port, "no other connections", rows)
        rss0 = rss_kib(proc.pid)
        stalled = []
        for i in range(1000):
            s = socket.socket()
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + (b"\r\n" if i % 2 else b""))
            stalled.append(s)
        time.sleep(1)
        rss1 = rss_kib(proc.pid)
        measure(port, "1,000 stalled connections open", rows)
        # Fill the cap (1,100) and try one more: closed at once, not stalled.
        extra = [socket.create_connection(("127.0.0.1", port)) for _ in range(110)]
        time.sleep(0.5)
        probe = socket.create_connection(("127.0.0.1", port), timeout=10)
        t = time.perf_counter(); got = probe.recv(10); refused_ms = (time.perf_counter() - t) * 1000
        import resource
        print(f"nsmd: {NSMD}; this script's open-file limit: {resource.getrlimit(resource.RLIMIT_NOFILE)}")
        print("| case | /healthz p50 | p99 | max | /metrics p50 | p99 | max | exposition bytes |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]:.2f} ms | {r[2]:.2f} ms | {r[3]:.2f} ms | {r[4]:.1f} ms | {r[5]:.1f} ms | {r[6]:.1f} ms | {r[7]:,} |")
        print(f"RSS {rss0:,} KiB before, {rss1:,} KiB with the 1,000 connections: "
              f"{(rss1 - rss0) / 1000:.1f} KiB per connection")
        print(f"connection beyond max_connections (1,100): recv gave {got!r} after {refused_ms:.1f} ms")
        for s in stalled + extra:
            s.close()
    finally:
        proc.terminate(); proc.wait(30)


main()
