"""End to end with a real Prometheus: nsmd runs the demo (embedded broker and
generator) on a free loopback port; a real `prometheus` (its own temp dir
and port) scrapes it every second with the rules of `nsmd rules` loaded.
Through Prometheus' HTTP API: every panel query of `nsmd dashboard` and
every recording rule returns data, every rule evaluates with health "ok",
and the values Prometheus holds equal nsmd's /metrics.

The generated rules compare with one window ago (offset 1w, 1d); a test
cannot wait a week, so the rules loaded here have every `offset` cut to 5s:
the expressions still run on real data, only the baseline is seconds old."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import yaml

from ops_testing import NSMD, SOURCE_DIR, source

LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
JOB = "nsmd"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def parse_metrics(text, names):
    """{(name, frozenset(labels)): value} of the samples of `names`."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$", line)
        if not m or m.group(1) not in names:
            continue
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


class PrometheusEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="nsmd-prom-e2e-")
        cls.procs = []
        # The demo config, with an alert block so the stall rules load too.
        with open(source("config", "demo.yaml")) as f:
            config = yaml.safe_load(f)
        for m in config["metrics"]:
            if m["role"] == "north_star":
                m["alert"] = {"drop_percent": 20, "stall_windows": 1}
        cls.config = os.path.join(cls.dir, "demo.yaml")
        with open(cls.config, "w") as f:
            yaml.safe_dump(config, f)
        rules = subprocess.run([NSMD, "rules", "--config", cls.config], capture_output=True,
                               text=True, check=True).stdout
        cls.rules = re.sub(r"offset \d+[smhdw]", "offset 5s", rules)
        with open(os.path.join(cls.dir, "rules.yml"), "w") as f:
            f.write(cls.rules)
        cls.dashboard = json.loads(subprocess.run(
            [NSMD, "dashboard", "--config", cls.config], capture_output=True, text=True,
            check=True).stdout)

        cls.nsmd_port = free_port()
        cls.log = open(os.path.join(cls.dir, "nsmd.log"), "w")
        cls.procs.append(subprocess.Popen(
            [NSMD, "run", "--config", cls.config, "--listen", f"127.0.0.1:{cls.nsmd_port}",
             "--state-dir", os.path.join(cls.dir, "state")],
            stdout=cls.log, stderr=subprocess.STDOUT, cwd=cls.dir))
        cls.prom_port = free_port()
        with open(os.path.join(cls.dir, "prometheus.yml"), "w") as f:
            yaml.safe_dump({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": ["rules.yml"],
                "scrape_configs": [{"job_name": JOB, "scrape_interval": "1s",
                                    "scrape_timeout": "1s",
                                    "static_configs": [
                                        {"targets": [f"127.0.0.1:{cls.nsmd_port}"]}]}]}, f)
        cls.prom_log = open(os.path.join(cls.dir, "prometheus.log"), "w")
        cls.procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={os.path.join(cls.dir, 'prometheus.yml')}",
             f"--storage.tsdb.path={os.path.join(cls.dir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{cls.prom_port}"],
            stdout=cls.prom_log, stderr=subprocess.STDOUT, cwd=cls.dir))
        cls.await_ok(f"http://127.0.0.1:{cls.nsmd_port}/readyz", 30)
        cls.await_ok(f"http://127.0.0.1:{cls.prom_port}/-/ready", 30)

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.send_signal(signal.SIGTERM)
        for p in cls.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        cls.log.close()
        cls.prom_log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def await_ok(cls, url, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if get(url)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{url} not ready after {seconds}s")

    def query(self, expr):
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        body = json.loads(get(url)[1])
        self.assertEqual(body["status"], "success", expr)
        return body["data"]["result"]

    def await_data(self, exprs, seconds=60):
        """Waits until every expression returns at least one sample; returns
        those that never did."""
        missing = list(exprs)
        deadline = time.time() + seconds
        while missing and time.time() < deadline:
            missing = [e for e in missing if not self.query(e)]
            if missing:
                time.sleep(1)
        return missing

    def test_1_every_panel_query_and_recording_rule_returns_data(self):
        exprs = []
        for p in self.dashboard["panels"]:
            for t in p.get("targets", []):
                exprs.append(t["expr"].replace("$job", JOB)
                             .replace("$__rate_interval", "10s"))
        self.assertGreater(len(exprs), 10)
        self.assertEqual(self.await_data(exprs), [])
        groups = yaml.safe_load(self.rules)["groups"]
        records = []
        for g in groups:
            for r in g["rules"]:
                if "record" in r:
                    matchers = "".join(f',{k}="{v}"' for k, v in r.get("labels", {}).items())
                    records.append(f'{{__name__="{r["record"]}"{matchers}}}')
        self.assertEqual(self.await_data(records), [])

    def test_2_every_rule_evaluates_without_error(self):
        body = json.loads(get(f"http://127.0.0.1:{self.prom_port}/api/v1/rules")[1])
        rules = [r for g in body["data"]["groups"] for r in g["rules"]]
        expected = sum(len(g["rules"]) for g in yaml.safe_load(self.rules)["groups"])
        self.assertEqual(len(rules), expected)
        deadline = time.time() + 20
        while time.time() < deadline and any(r.get("lastEvaluation", "").startswith("0001")
                                             for r in rules):
            time.sleep(1)
            body = json.loads(get(f"http://127.0.0.1:{self.prom_port}/api/v1/rules")[1])
            rules = [r for g in body["data"]["groups"] for r in g["rules"]]
        for r in rules:
            self.assertEqual((r["health"], r.get("lastError", "")), ("ok", ""), r["name"])

    def test_3_values_in_prometheus_equal_nsmd_metrics(self):
        names = {"nsm_metric_value", "nsm_metric_window_start_seconds",
                 "nsmd_events_consumed_total", "nsmd_events_applied_total", "nsmd_ready",
                 "nsmd_stream_time_seconds", "nsmd_config_last_reload_successful"}
        url = f"http://127.0.0.1:{self.nsmd_port}/metrics"
        before = parse_metrics(get(url)[1], names)
        self.assertTrue(any(n == "nsm_metric_value" for n, _ in before))
        time.sleep(2.5)  # at least two scrapes after `before`
        held = {}
        for name in names:
            for s in self.query(f'{name}{{job="{JOB}"}}'):
                labels = {k: v for k, v in s["metric"].items()
                          if k not in ("__name__", "job", "instance")}
                held[(name, frozenset(labels.items()))] = float(s["value"][1])
        after = parse_metrics(get(url)[1], names)
        self.assertEqual(set(held), set(after))
        stable = 0
        for key, value in held.items():
            a, b = before.get(key), after[key]
            if a == b:
                # Unchanged across the scrapes: Prometheus holds exactly it.
                self.assertEqual(value, b, key)
                stable += 1
            elif a is not None:
                # Moving (events keep arriving): a scrape taken between the
                # two reads; every compared series grows within its window.
                self.assertTrue(min(a, b) <= value <= max(a, b), (key, a, value, b))
        self.assertGreater(stable, 5)
        # The combined series of the rules equal the one instance's.
        for s in self.query('nsm:metric_value{window="previous"}'):
            raw = self.query('nsm_metric_value{metric="%s", window="previous"}'
                             % s["metric"]["metric"])
            self.assertEqual([r["value"][1] for r in raw], [s["value"][1]], s["metric"])


if __name__ == "__main__":
    unittest.main()
