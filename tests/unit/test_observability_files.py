"""The Grafana dashboards and Prometheus rules under helm/eco2/ are valid, tested and speak eco2's metrics.

promtool checks and unit-tests the rule file, and parses every dashboard query (written into a throw-away
rule file as recording rules). Metric names are checked against what ``create_metrics`` registers, the
recording rules, the multiprocess-directory gauges and danihodovic/celery-exporter's metrics, so a typo in
a panel or an alert fails here instead of drawing an empty graph. promtool is required, never skipped:
``.ci/setup`` installs it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from eco2.adapters.prometheus.definitions import create_metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "helm" / "eco2" / "rules" / "eco2.rules.yaml"
RULE_TESTS = sorted((ROOT / "helm" / "eco2" / "rules" / "tests").glob("*.yaml"))
DASHBOARDS = sorted((ROOT / "helm" / "eco2" / "dashboards").glob("*.json"))
DOCS = ROOT / "docs" / "dashboards-and-alerts.md"

# danihodovic/celery-exporter (src/exporter.py, README "Metrics"); the runtime histogram's series too.
CELERY_EXPORTER_METRICS = frozenset(
    {
        *(
            f"celery_task_{event}_total"
            for event in ("sent", "received", "started", "succeeded", "failed", "rejected", "revoked", "retried")
        ),
        "celery_task_runtime_bucket",
        "celery_task_runtime_count",
        "celery_task_runtime_sum",
        "celery_worker_up",
        "celery_worker_tasks_active",
        "celery_queue_length",
        "celery_active_consumer_count",
        "celery_active_worker_count",
        "celery_active_process_count",
    }
)
# Written by the worker's multiprocess-directory collector (label instance).
METRICS_DIR_GAUGES = frozenset({"eco2_metrics_dir_files", "eco2_metrics_dir_bytes"})
# Grafana's built-in range variables, replaced by a duration before promtool parses a panel query.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__range": "1h", "$__interval": "1m"}

_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"inf", "nan", "Inf", "NaN"}
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# An identifier not glued to a number or another name and not called like a function.
_IDENTIFIER = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")


def metric_names(expr: str) -> set[str]:
    """Metric (and recording rule) names a PromQL expression reads."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    return {name for name in _IDENTIFIER.findall(text) if name not in _KEYWORDS}


def _eco2_samples() -> list[Any]:
    """Every sample eco2 exports, one child per labelled metric (fresh registry, dummy label values).

    ``_created`` samples are left out: multiprocess mode (how the worker exports) never writes them.
    """
    registry = CollectorRegistry()
    metrics = create_metrics(registry)
    for field in dataclasses.fields(metrics):
        metric = getattr(metrics, field.name)
        # _labelnames is private, but it is the only way to create a child of every metric generically.
        if metric._labelnames:
            metric.labels(*["x"] * len(metric._labelnames))
    samples = [sample for family in registry.collect() for sample in family.samples]
    return [sample for sample in samples if not sample.name.endswith("_created")]


def _rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _rule_groups() for rule in group["rules"]]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _dashboard(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that queries (rows excluded, collapsed rows' panels included)."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            panels.extend(panel.get("panels", []))
        else:
            panels.append(panel)
    return panels


def _dashboard_exprs(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expr) of every panel target."""
    return [
        (f"{dashboard['uid']} / {panel['title']} / {target['refId']}", target["expr"])
        for panel in _panels(dashboard)
        for target in panel["targets"]
    ]


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def _as_promql(expr: str, variables: set[str]) -> str:
    """A panel query as plain PromQL: built-in ranges become durations, dashboard variables match anything."""
    for name, duration in GRAFANA_RANGES.items():
        expr = expr.replace(name, duration)
    return _VARIABLE.sub(lambda m: ".*" if m.group(1) in variables else m.group(0), expr)


def _every_expr() -> list[tuple[str, str]]:
    exprs = [(f"rule {rule.get('alert') or rule['record']}", rule["expr"]) for rule in _rules()]
    for path in DASHBOARDS:
        exprs += _dashboard_exprs(_dashboard(path))
    return exprs


def _run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian/Ubuntu package prometheus): run .ci/setup")
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=240, check=False)


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_rule_file_passes_promtool_check() -> None:
    result = _run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    assert RULE_TESTS, "no promtool unit tests under helm/eco2/rules/tests"
    result = _run_promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert names - fired == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested staying quiet"


def test_every_recording_rule_is_checked_by_a_unit_test() -> None:
    queries = " ".join(
        check["expr"]
        for path in RULE_TESTS
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for check in case.get("promql_expr_test", [])
    )
    records = {rule["record"] for rule in _rules() if "record" in rule}
    unchecked = {name for name in records if not re.search(re.escape(name) + r"(?![\w:])", queries)}
    assert unchecked == set()


def test_alerts_carry_severity_summary_description_and_a_documented_runbook() -> None:
    anchors = {_slug(line.lstrip("#")) for line in DOCS.read_text(encoding="utf-8").splitlines() if line[:1] == "#"}
    for alert in _alerts():
        assert alert["labels"]["severity"] in {"warning", "critical"}, alert["alert"]
        annotations = alert["annotations"]
        assert annotations.get("summary"), alert["alert"]
        assert annotations.get("description"), alert["alert"]
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/dashboards-and-alerts.md", alert["alert"]
        assert anchor in anchors, f"{alert['alert']}: no heading for #{anchor} in {DOCS.name}"


def test_histogram_quantiles_aggregate_by_le_first() -> None:
    for where, expr in _every_expr():
        calls = expr.count("histogram_quantile(")
        groupings = re.findall(r"histogram_quantile\(\s*[\d.]+\s*,\s*sum by \(([^)]*)\)", expr)
        assert len(groupings) == calls, f"{where}: histogram_quantile without sum by (le, ...): {expr}"
        assert all("le" in [label.strip() for label in grouping.split(",")] for grouping in groupings), where


def test_slo_thresholds_are_exported_bucket_boundaries() -> None:
    exported: dict[str, set[str]] = {}
    for sample in _eco2_samples():
        if sample.name.endswith("_bucket"):
            exported.setdefault(sample.name, set()).add(sample.labels["le"])
    for rule in _rules():
        for metric, le in re.findall(r'(\w+_bucket)\{[^}]*\ble="([^"]+)"', rule["expr"]):
            assert le in exported[metric], f"{metric}: le={le!r} is not one of {sorted(exported[metric])}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_has_the_required_structure(path: Path) -> None:
    dashboard = _dashboard(path)
    assert dashboard["schemaVersion"] == 39
    assert dashboard["uid"]
    assert dashboard["title"]
    assert "eco2" in dashboard["tags"]
    variables = _variables(dashboard)
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in _panels(dashboard):
        assert panel["title"], panel
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert "unit" in panel["fieldConfig"]["defaults"], panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            used = set(_VARIABLE.findall(target["expr"])) - {name.lstrip("$") for name in GRAFANA_RANGES}
            assert used <= set(variables), f"{panel['title']}: unknown variables {used - set(variables)}"


def test_dashboard_uids_are_unique() -> None:
    uids = [_dashboard(path)["uid"] for path in DASHBOARDS]
    assert {path.name for path in DASHBOARDS} >= {"token-streaming.json", "pipeline.json", "celery.json"}
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    boxes = [(panel["title"], panel["gridPos"]) for panel in _dashboard(path)["panels"]]
    for title, box in boxes:
        assert min(box["w"], box["h"]) > 0, title
        assert min(box["x"], box["y"]) >= 0, title
        assert box["x"] + box["w"] <= 24, title
    for (a, p), (b, q) in combinations(boxes, 2):
        apart = p["x"] + p["w"] <= q["x"] or q["x"] + q["w"] <= p["x"] or p["y"] + p["h"] <= q["y"]
        assert apart or q["y"] + q["h"] <= p["y"], f"{a!r} overlaps {b!r}"


def test_dashboard_rates_use_grafana_ranges() -> None:
    for path in DASHBOARDS:
        for where, expr in _dashboard_exprs(_dashboard(path)):
            ranges = set(_RANGES.findall(_STRINGS.sub('""', expr)))
            assert ranges <= {"[$__rate_interval]", "[$__range]"}, f"{where}: {ranges}"


def test_every_metric_in_dashboards_and_rules_is_known() -> None:
    known = {sample.name for sample in _eco2_samples()}
    known |= {rule["record"] for rule in _rules() if "record" in rule}
    known |= CELERY_EXPORTER_METRICS | METRICS_DIR_GAUGES
    used = list(_every_expr())
    for path in DASHBOARDS:
        for name, variable in _variables(_dashboard(path)).items():
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            used += [(f"{path.name} variable {name}", m) for m in re.findall(r"label_values\((\w+)", query)]
    unknown = {f"{where}: {name}" for where, expr in used for name in metric_names(expr) - known}
    assert unknown == set()


def test_metric_name_check_sees_names_not_functions_labels_or_keywords() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, node) (rate(chat_stream_activ_bucket{node=~"$node"}[5m])))'
        " > on (slo) group_left () 1e3 * slo:error_budget:ratio offset 1h or vector(0)"
    )
    assert metric_names(expr) == {"chat_stream_activ_bucket", "slo:error_budget:ratio"}


def test_dashboard_queries_parse_with_promtool(tmp_path: Path) -> None:
    groups = []
    for path in DASHBOARDS:
        dashboard = _dashboard(path)
        variables = set(_variables(dashboard))
        rules = [
            {"record": f"dashboard:query_{number}:parsed", "expr": _as_promql(expr, variables), "labels": {"at": where}}
            for number, (where, expr) in enumerate(_dashboard_exprs(dashboard))
        ]
        groups.append({"name": path.name, "rules": rules})
    rule_file = tmp_path / "dashboards.rules.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True), encoding="utf-8")
    result = _run_promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parse_check_rejects_a_broken_query(tmp_path: Path) -> None:
    rule_file = tmp_path / "broken.rules.yaml"
    broken = {"record": "dashboard:query_0:parsed", "expr": "sum by (node) (rate(chat_stream_tokens_total[5m])"}
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [broken]}]}), encoding="utf-8")
    assert _run_promtool("check", "rules", str(rule_file)).returncode != 0


def test_docs_cover_every_dashboard_panel_and_alert() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [path.name for path in DASHBOARDS if path.name not in docs]
    missing += [
        panel["title"] for path in DASHBOARDS for panel in _panels(_dashboard(path)) if panel["title"] not in docs
    ]
    missing += [alert["alert"] for alert in _alerts() if alert["alert"] not in docs]
    assert missing == []
