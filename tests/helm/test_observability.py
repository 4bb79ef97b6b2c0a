"""The chart ships the project's one rules file and its dashboards as they are, and scrapes what they query."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import yaml

from tests.helm.chart import CHART, Rendered, helm, rendered_case

RULES = CHART / "rules" / "eco2.rules.yaml"
DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))


def test_prometheus_rule_spec_is_the_rules_file(default: Rendered) -> None:
    (rule,) = default.of_kind("PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text(encoding="utf-8"))
    # Prometheus' own template syntax reaches it untouched (Helm did not evaluate it).
    annotations = [r["annotations"] for g in rule["spec"]["groups"] for r in g["rules"] if "annotations" in r]
    assert any("{{ $labels." in a.get("description", "") for a in annotations)


def test_prometheus_rule_text_is_the_file_byte_for_byte(default: Rendered) -> None:
    text = default.templates["eco2/templates/prometheusrule.yaml"]
    body = text.split("\nspec:\n", 1)[1]
    unindented = "\n".join(line[2:] if line.strip() else line.strip() for line in body.split("\n"))
    assert unindented.rstrip("\n") == RULES.read_text(encoding="utf-8").rstrip("\n")


def test_every_dashboard_is_a_configmap_holding_the_file_byte_for_byte(default: Rendered) -> None:
    maps = {
        key: cm
        for cm in default.of_kind("ConfigMap")
        if cm["metadata"]["labels"].get("grafana_dashboard") == "1"
        for key in cm["data"]
    }
    assert sorted(maps) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        cm = maps[path.name]
        assert cm["data"][path.name] == path.read_text(encoding="utf-8")
        assert cm["metadata"]["annotations"] == {"grafana_folder": "eco2"}
        json.loads(cm["data"][path.name])  # still a dashboard
        # A ConfigMap is limited to 1 MiB; the sidecar must be able to load it.
        assert len(cm["data"][path.name].encode()) < 1024 * 1024


def test_templates_load_rules_and_dashboards_and_hold_no_copy() -> None:
    templates = {p.name: p.read_text(encoding="utf-8") for p in (CHART / "templates").iterdir()}
    assert '.Files.Get "rules/eco2.rules.yaml"' in templates["prometheusrule.yaml"]
    assert '.Files.Glob "dashboards/*.json"' in templates["dashboards.yaml"]
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    uids = {json.loads(p.read_text(encoding="utf-8"))["uid"] for p in DASHBOARDS}
    for name, text in templates.items():
        assert not [a for a in alerts if a in text], f"{name} copies an alert"
        assert not [u for u in uids if u in text], f"{name} copies a dashboard"


def test_packaged_chart_ships_the_rules_and_dashboards(tmp_path: Path) -> None:
    archive = helm.package(CHART, destination=tmp_path)
    with tarfile.open(archive) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames()}
        rules = tar.extractfile("eco2/rules/eco2.rules.yaml")
        assert rules is not None
        assert rules.read() == RULES.read_bytes()
    assert {f"dashboards/{p.name}" for p in DASHBOARDS} <= names
    # Left out: the promtool tests of the rules and the CI values files.
    assert not [n for n in names if n.startswith(("rules/tests/", "ci/"))]


def test_service_monitors_select_the_metrics_services(default: Rendered) -> None:
    services = {s["metadata"]["name"]: s for s in default.of_kind("Service")}
    monitors = default.of_kind("ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} == {"eco2-worker", "eco2-celery-exporter"}
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [s for s in services.values() if selector.items() <= s["metadata"]["labels"].items()]
        ports = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["eco2"]}


def test_exporter_job_matches_the_celery_mixin_selector(default: Rendered) -> None:
    # Prometheus names the job after the Service; the celery-mixin alerts select job=~".*celery.*".
    monitor = default.get("ServiceMonitor", "eco2-celery-exporter")
    assert "jobLabel" not in monitor["spec"]
    service = default.get("Service", "eco2-celery-exporter")
    assert "celery" in service["metadata"]["name"]
    assert 'job=~".*celery.*"' in RULES.read_text(encoding="utf-8")
    endpoint = monitor["spec"]["endpoints"][0]
    # Its /metrics takes ~2 s.
    assert _seconds(endpoint["scrapeTimeout"]) > 2
    assert _seconds(endpoint["interval"]) >= 15


def test_monitoring_can_be_turned_off() -> None:
    r = rendered_case("single-pool")
    assert not r.of_kind("ServiceMonitor")
    assert not r.of_kind("PrometheusRule")
    assert not [cm for cm in r.of_kind("ConfigMap") if "grafana_dashboard" in cm["metadata"]["labels"]]


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if duration.endswith(unit):
            return float(duration[: -len(unit)]) * units[unit]
    raise ValueError(duration)
