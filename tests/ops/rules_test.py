"""`nsmd rules`: the committed rule files are current; every generated file
passes promtool check rules / amtool check-config; the hand-written promtool
unit tests (metric_rules_test.yml, daemon_rules_test.yml) and the generated
ones (deploy/prometheus/nsmd-rules_test.yml) pass; the Alertmanager routes
send each alert where it belongs."""
import os
import tempfile
import unittest

import yaml

from ops_testing import EXAMPLES, nsmd, run, source

COMMITTED = {
    ("deploy", "prometheus", "nsmd-rules.yml"): [],
    ("deploy", "prometheus", "alertmanager.yml"): ["--format", "alertmanager"],
    ("deploy", "kubernetes", "prometheusrule.yaml"): ["--format", "prometheus-rule"],
    ("deploy", "prometheus", "nsmd-rules_test.yml"): ["--format", "tests"],
}


def check_file(tool_args, text, suffix=".yml"):
    with tempfile.NamedTemporaryFile("w", suffix=suffix) as f:
        f.write(text)
        f.flush()
        return run(*tool_args, f.name)


class RulesTest(unittest.TestCase):
    def test_committed_files_are_current(self):
        for path, flags in COMMITTED.items():
            now = nsmd("rules", "--config", "config/examples/saas.yaml", *flags)
            with open(source(*path)) as f:
                self.assertEqual(f.read(), now,
                                 f"{'/'.join(path)} is stale: regenerate it with nsmd rules "
                                 f"--config config/examples/saas.yaml {' '.join(flags)}")

    def test_promtool_check_rules_on_every_generated_file(self):
        for name in EXAMPLES:
            text = nsmd("rules", "--config", f"config/examples/{name}.yaml")
            code, out = check_file(["promtool", "check", "rules"], text)
            self.assertEqual(code, 0, f"{name}: {out}")
            self.assertIn("SUCCESS", out)
            # The PrometheusRule's spec is the same rule file.
            rule = yaml.safe_load(nsmd("rules", "--config", f"config/examples/{name}.yaml",
                                       "--format", "prometheus-rule"))
            self.assertEqual((rule["apiVersion"], rule["kind"]),
                             ("monitoring.coreos.com/v1", "PrometheusRule"))
            self.assertEqual(rule["spec"], yaml.safe_load(text), name)
            code, out = check_file(["promtool", "check", "rules"], yaml.safe_dump(rule["spec"]))
            self.assertEqual(code, 0, f"{name} PrometheusRule: {out}")

    def test_amtool_check_config_on_every_snippet(self):
        for name in EXAMPLES:
            text = nsmd("rules", "--config", f"config/examples/{name}.yaml", "--format",
                        "alertmanager")
            code, out = check_file(["amtool", "check-config"], text)
            self.assertEqual(code, 0, f"{name}: {out}")
            self.assertIn("1 inhibit rules", out)

    def test_alertmanager_routes_and_inhibit_rule(self):
        path = source("deploy", "prometheus", "alertmanager.yml")
        for labels, receiver in [
            (["alertname=NsmdStreamTimeStalled", "job=nsmd"], "nsmd-operators"),
            (["alertname=NsmMetricDropped", "owner=growth", "metric=collaborating_teams"],
             "nsm-growth"),
            (["alertname=NsmMetricDropped", "owner=docs", "metric=daily_reading_ms"], "nsm-docs"),
            (["alertname=SomethingElse"], "default"),
        ]:
            code, out = run("amtool", "config", "routes", "test", "--config.file", path, *labels)
            # stdout (the receiver) comes before stderr (a warning about the flag).
            self.assertEqual((code, out.splitlines()[0]), (0, receiver), labels)
        with open(path) as f:
            inhibit = yaml.safe_load(f)["inhibit_rules"]
        self.assertEqual(inhibit, [{
            "source_matchers": ['alertname=~"NsmdDown|NsmdNotReady|NsmdNoEventsConsumed|'
                                'NsmdConsumerLagGrowing|NsmdStreamTimeStalled"'],
            "target_matchers": ['alertname=~"NsmMetricDropped|NsmMetricStalled|'
                                'NsmMetricBelowThreshold|NsmMetricAboveThreshold"'],
            "equal": ["job"]}])

    def test_promtool_unit_tests(self):
        for test in [("tests", "ops", "metric_rules_test.yml"),
                     ("tests", "ops", "daemon_rules_test.yml"),
                     # Generated alongside the rules (nsmd rules --format tests).
                     ("deploy", "prometheus", "nsmd-rules_test.yml")]:
            code, out = run("promtool", "test", "rules", source(*test))
            self.assertEqual(code, 0, out)
            self.assertIn("SUCCESS", out)

    def promtool_test_with_rules_of(self, config, rules_file, test_file):
        """Runs tests/ops/`test_file` with `nsmd rules` of `config` next to
        it as `rules_file`, the name the test loads."""
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, rules_file), "w") as f:
                f.write(nsmd("rules", "--config", config))
            test = os.path.join(d, test_file)
            with open(source("tests", "ops", test_file)) as src, open(test, "w") as dst:
                dst.write(src.read())
            code, out = run("promtool", "test", "rules", test)
            self.assertEqual(code, 0, out)
            self.assertIn("SUCCESS", out)

    def test_instances_that_split_the_partitions_add_up(self):
        # ecommerce's metrics are partitioned by its key (kafka.key_field),
        # so its rules sum the instances.
        self.promtool_test_with_rules_of("config/examples/ecommerce.yaml",
                                         "ecommerce-rules.yml", "instances_rules_test.yml")

    def test_rolling_windows_of_instances_add_up_whatever_their_starts(self):
        self.promtool_test_with_rules_of("tests/ops/rolling_instances.yaml",
                                         "rolling_instances-rules.yml",
                                         "rolling_instances_rules_test.yml")

    def test_group_by_metrics_of_instances_fold_as_one_instance(self):
        self.promtool_test_with_rules_of("tests/ops/folded_instances.yaml",
                                         "folded_instances-rules.yml",
                                         "folded_instances_rules_test.yml")

if __name__ == "__main__":
    unittest.main()
