"""`nsmd dashboard`: the committed dashboards are current, valid against
Grafana's published JSON schemas (grafana_jsonschema/, draft-07), follow the
useful rules of Grafana's dashboard linter, and every query parses
(promtool check rules on them wrapped as recording rules)."""
import json
import os
import re
import tempfile
import unittest

import jsonschema
import yaml

from ops_testing import EXAMPLES, nsmd, run, source

SCHEMAS = source("tests", "ops", "grafana_jsonschema")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def schema(name, definition=None):
    with open(os.path.join(SCHEMAS, f"{name}.jsonschema.json")) as f:
        s = json.load(f)
    if definition:
        s = dict(s, **{"$ref": f"#/definitions/{definition}"})
    return jsonschema.Draft7Validator(s)


def errors(validator, instance):
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(instance)]


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = {n: nsmd("dashboard", "--config", f"config/examples/{n}.yaml")
                    for n in EXAMPLES}
        cls.dashboards = {n: json.loads(t) for n, t in cls.text.items()}

    def panels(self, d):
        return [p for p in d["panels"] if p["type"] != "row"]

    def targets(self, d):
        for p in self.panels(d):
            for t in p["targets"]:
                yield p, t

    def test_committed_files_are_current(self):
        for name, text in self.text.items():
            with open(source("deploy", "grafana", f"{name}.json")) as f:
                self.assertEqual(f.read(), text,
                                 f"deploy/grafana/{name}.json is stale: regenerate it with "
                                 f"nsmd dashboard --config config/examples/{name}.yaml")

    def test_valid_against_grafana_schemas(self):
        dashboard = schema("dashboard")
        query = schema("prometheus")
        for name, d in self.dashboards.items():
            self.assertEqual(errors(dashboard, d), [], name)
            self.assertEqual(d["schemaVersion"], 42)
            for p in self.panels(d):
                self.assertEqual(errors(schema(p["type"], "Options"), p.get("options", {})), [],
                                 f"{name}: options of {p['title']}")
                if p["type"] == "timeseries":
                    self.assertEqual(
                        errors(schema("timeseries", "FieldConfig"),
                               p["fieldConfig"]["defaults"]["custom"]), [], p["title"])
                for t in p["targets"]:
                    self.assertEqual(errors(query, t), [], f"{name}: {p['title']}")

    def test_one_datasource_variable_used_by_every_panel_target_and_annotation(self):
        for name, d in self.dashboards.items():
            variables = d["templating"]["list"]
            sources = [v for v in variables if v["type"] == "datasource"]
            self.assertEqual(len(sources), 1, name)
            self.assertEqual((sources[0]["name"], sources[0]["query"]), ("datasource", "prometheus"))
            for p in self.panels(d):
                self.assertEqual(p["datasource"], DATASOURCE, p["title"])
            for p, t in self.targets(d):
                self.assertEqual(t["datasource"], DATASOURCE, p["title"])
            for v in variables:
                if v["type"] == "query":
                    self.assertEqual(v["datasource"], DATASOURCE, v["name"])
            for a in d["annotations"]["list"]:
                if not a.get("builtIn"):
                    self.assertEqual(a["datasource"], DATASOURCE, a["name"])

    def test_every_panel_has_title_description_and_unit(self):
        for name, d in self.dashboards.items():
            for p in self.panels(d):
                self.assertTrue(p.get("title"), p)
                self.assertTrue(p.get("description"), p["title"])
                self.assertTrue(p["fieldConfig"]["defaults"].get("unit"), p["title"])

    def test_rates_use_rate_interval_and_every_query_selects_the_job(self):
        for name, d in self.dashboards.items():
            for p, t in self.targets(d):
                for window in re.findall(r"\b(?:rate|irate|increase)\([^\[]*\[([^\]]*)\]",
                                         t["expr"]):
                    self.assertEqual(window, "$__rate_interval", t["expr"])
                self.assertIn('job=~"$job"', t["expr"], p["title"])

    def test_layout_north_star_tree_guardrails_health(self):
        d = self.dashboards["saas"]
        rows = [p["title"] for p in d["panels"] if p["type"] == "row"]
        self.assertEqual(rows, ["North star: collaborating_teams",
                                "Inputs (the tree of the north star; ★ marks the focus metric)",
                                "Guardrails", "nsmd health"])
        titles = [p["title"] for p in self.panels(d)]
        # The saas tree, by hand from config/examples/saas.yaml: the north
        # star's inputs in their order, weekly_active_users_by_plan under
        # weekly_active_users (indented), then the two guardrails.
        self.assertEqual(titles[:11], [
            "collaborating_teams (north star)", "Change against the previous window",
            "collaborating_teams over time", "What the north star means",
            "teams_created ← input of collaborating_teams",
            "★ team_activation_rate (focus) ← input of collaborating_teams",
            "weekly_active_users ← input of collaborating_teams",
            "weekly_active_users_by_plan ← input of weekly_active_users",
            "active_users_7d ← input of collaborating_teams",
            "project_builders", "daily_reading_ms"])
        by_title = {p["title"]: p for p in self.panels(d)}
        self.assertEqual(by_title["weekly_active_users_by_plan ← input of weekly_active_users"]
                         ["gridPos"]["x"], 2)
        self.assertEqual(by_title["weekly_active_users_by_plan ← input of weekly_active_users"]
                         ["targets"][0]["legendFormat"], "{{plan}} {{window}}")
        text = by_title["What the north star means"]["options"]["content"]
        for part in ["**Customer value:** If this improves, more teams get their work done",
                     "**Decision question:** Which onboarding step", "**Owner:** growth",
                     "**Cadence:** weekly"]:
            self.assertIn(part, text)
        health = [p["title"] for p in self.panels(d)][-6:]
        self.assertEqual(health, ["Events consumed and applied per second",
                                  "Rejected, late and duplicate events per second",
                                  "Consumer lag", "Stream-time delay",
                                  "Checkpoint duration (p99)", "Ready"])
        self.assertEqual(by_title["★ team_activation_rate (focus) ← input of collaborating_teams"]
                         ["fieldConfig"]["defaults"]["unit"], "percentunit")
        annotation = d["annotations"]["list"][1]
        self.assertIn("nsm_metric_window_start_seconds", annotation["expr"])
        self.assertTrue(annotation["useValueForTime"])

    def test_every_query_parses(self):
        rules = []
        for name, d in self.dashboards.items():
            exprs = [t["expr"] for _, t in self.targets(d)]
            exprs += [a["expr"] for a in d["annotations"]["list"] if "expr" in a]
            for i, e in enumerate(exprs):
                e = e.replace("$__rate_interval", "1m").replace("$job", ".+")
                rules.append({"record": f"dashboard:{name}:query{i}", "expr": e})
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, f)
            f.flush()
            code, out = run("promtool", "check", "rules", f.name)
        self.assertEqual(code, 0, out)


if __name__ == "__main__":
    unittest.main()
