#!/usr/bin/env python3
"""Checks deploy/docker/Dockerfile without building it (no base image can be
pulled on the project's machines):

- every shared library `ldd NSMD` lists is shipped by a package the runtime
  stage installs, or by one of their dependencies (dpkg's database of this
  Debian 12 machine: `dpkg -S` maps the file to its package);
- the runtime stage runs as a user that is not root;
- EXPOSE, the HEALTHCHECK's port and http.listen of the config copied into
  the image agree, the VOLUME is its state.dir, the HEALTHCHECK asks /healthz;
- the HEALTHCHECK command, run here against a live `nsmd run`, succeeds, and
  fails once nsmd is gone.

Usage: dockerfile_test.py SOURCE_DIR NSMD_BINARY
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

src, nsmd = sys.argv[1], sys.argv[2]
failures = []


def fail(message):
    failures.append(message)
    print("FAIL:", message)


text = open(os.path.join(src, "deploy/docker/Dockerfile")).read()
# Instructions, continuation lines joined, comments dropped.
lines = [l for l in text.replace("\\\n", " ").splitlines()
         if l.strip() and not l.lstrip().startswith("#")]
stages = []
for line in lines:
    if line.startswith("FROM "):
        stages.append([])
    stages[-1].append(line)
for stage in stages:
    if "bookworm" not in stage[0]:
        fail(f"not a Debian bookworm base: {stage[0]}")
if len(stages) < 2:
    fail("not multi-stage")
runtime = stages[-1]


def instruction(name):
    return [l[len(name) + 1:].strip() for l in runtime if l.startswith(name + " ")]


# Packages the runtime stage installs.
installed = []
for run in instruction("RUN"):
    for m in re.finditer(r"apt-get install ([^&;]*)", run):
        installed += [w for w in m.group(1).split() if not w.startswith("-")]
if not installed:
    fail("the runtime stage installs no package")


def depends(package):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    names = re.split(r"[,|]", out.stdout)
    return {n.split()[0].split(":")[0] for n in names if n.strip()}


closure, todo = set(), list(installed)
while todo:
    p = todo.pop()
    if p in closure:
        continue
    d = depends(p)
    if d is None:
        if p in installed:
            fail(f"{p} (installed by the Dockerfile) is not a package installed here to check")
        continue
    closure.add(p)
    todo += d
# debian:bookworm-slim's own packages: the essential ones (libc6 among them).
essential = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Essential}\n"],
                           capture_output=True, text=True, check=True).stdout
for line in essential.splitlines():
    name, _, flag = line.partition(" ")
    if flag == "yes":
        closure |= {name} | (depends(name) or set())

ldd = subprocess.run(["ldd", nsmd], capture_output=True, text=True, check=True).stdout
# Sanitizer runtimes (the ASan+UBSan build): the image is built without.
libraries = [l for l in re.findall(r"=> (/\S+)", ldd)
             if not re.match(r"lib(a|ub|l|t)san\.", os.path.basename(l))]
if len(libraries) < 5:
    fail(f"ldd listed too few libraries:\n{ldd}")
# One dpkg -S for all (each call reads dpkg's whole file list): by the path
# ldd printed or, for a symlink, its target.
paths = set(libraries) | {os.path.realpath(l) for l in libraries}
out = subprocess.run(["dpkg", "-S"] + sorted(paths), capture_output=True, text=True).stdout
owners = {}
for line in out.splitlines():
    package, _, path = line.partition(": ")
    owners[path] = package.split(":")[0].split(",")[0]
for lib in libraries:
    owner = owners.get(lib) or owners.get(os.path.realpath(lib))
    if owner is None:
        fail(f"{lib}: no package ships it")
    elif owner not in closure:
        fail(f"{lib} comes from {owner}, which the runtime stage does not install")
print(f"ldd: {len(libraries)} libraries; the runtime stage installs {len(installed)} packages")

users = instruction("USER")
if not users:
    fail("no USER: the runtime stage runs as root")
elif users[-1].split(":")[0] in ("root", "0"):
    fail(f"USER {users[-1]} is root")

config_src = None
for copy in instruction("COPY"):
    parts = copy.split()
    if parts[-1] == "/etc/nsmd/nsmd.yaml":
        config_src = os.path.join(src, parts[-2])
if config_src is None:
    fail("no config copied to /etc/nsmd/nsmd.yaml")
else:
    config = open(config_src).read()
    listen_port = re.search(r"^\s+listen:\s*\S*:(\d+)", config, re.M).group(1)
    state_dir = re.search(r"^\s+dir:\s*(\S+)", config, re.M).group(1)
    if instruction("EXPOSE") != [listen_port]:
        fail(f"EXPOSE {instruction('EXPOSE')} is not http.listen's port {listen_port}")
    if instruction("VOLUME") != [state_dir]:
        fail(f"VOLUME {instruction('VOLUME')} is not state.dir {state_dir}")

healthcheck = instruction("HEALTHCHECK")
command = None
if len(healthcheck) != 1 or " CMD [" not in healthcheck[0]:
    fail(f"HEALTHCHECK is not one exec-form CMD: {healthcheck}")
else:
    argv = json.loads(healthcheck[0][healthcheck[0].index(" CMD [") + 5:])
    command = " ".join(argv)
    if "/healthz" not in command:
        fail(f"HEALTHCHECK does not ask /healthz: {command}")
    if config_src and f"/{listen_port}" not in command:
        fail(f"HEALTHCHECK does not use port {listen_port}: {command}")

# The HEALTHCHECK against a real nsmd (no broker needed: /healthz answers
# while the process serves HTTP), on a free port instead of the image's.
if command and config_src:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "nsmd.yaml")
        with open(cfg, "w") as f:
            f.write(f"""kafka:
  brokers: 127.0.0.1:1
  topics: [events]
state:
  dir: {tmp}/state
http:
  listen: 127.0.0.1:{port}
metrics:
  - name: edits
    role: north_star
    filter: {{event: file_edited}}
    measure: events
    window: lifetime
""")
        daemon = subprocess.Popen([nsmd, "run", "--config", cfg], stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):  # until /healthz answers (up to 60 s)
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            check = argv[:2] + [argv[2].replace(f"/{listen_port}", f"/{port}")]
            if subprocess.run(check).returncode != 0:
                fail(f"HEALTHCHECK failed against a live nsmd: {check}")
        finally:
            daemon.terminate()
            daemon.wait(30)
        if subprocess.run(check, stderr=subprocess.DEVNULL).returncode == 0:
            fail("HEALTHCHECK succeeds with no nsmd running")

sys.exit(1 if failures else 0)
