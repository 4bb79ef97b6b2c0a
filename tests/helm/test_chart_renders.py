"""The chart lints strictly and every manifest it renders is valid Kubernetes 1.30 (CRDs included)."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helm.chart import CASES, CHART, KUBE_VERSION, NAMESPACE, Rendered, helm, load_values, rendered_case
from tests.helm.schemas import validation_errors

WARNING = 2


@pytest.mark.parametrize("values_file", sorted({case.values_file for case in CASES}))
def test_lint_strict_passes_for_every_ci_values_file(values_file: str) -> None:
    report = helm.lint(CHART, load_values(values_file), strict=True, kube_version=KUBE_VERSION, namespace=NAMESPACE)
    findings = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert report["errors"] == []
    assert findings == []


def test_every_ci_values_file_is_rendered_by_a_case() -> None:
    files = {p.name for p in (CHART / "ci").glob("*.yaml")}
    assert files == {case.values_file for case in CASES}


def test_every_manifest_is_valid_for_kubernetes_1_30(rendered: Rendered) -> None:
    problems = {
        f"{o['kind']}/{o['metadata']['name']}": errors for o in rendered.objects if (errors := validation_errors(o))
    }
    assert problems == {}


def test_every_object_has_the_release_labels_and_namespace(rendered: Rendered) -> None:
    dashboards_ns = rendered.values.get("metrics", {}).get("dashboards", {}).get("namespace")
    for o in rendered.objects:
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "eco2"
        assert labels["app.kubernetes.io/name"] == "eco2"
        assert o["metadata"]["namespace"] in {NAMESPACE, dashboards_ns}


def test_object_names_are_unique_per_kind(rendered: Rendered) -> None:
    names = Counter((o["kind"], o["metadata"]["name"]) for o in rendered.objects)
    assert [key for key, count in names.items() if count > 1] == []


def test_single_pool_case_renders_only_the_pool_and_its_plumbing() -> None:

    kinds = Counter(o["kind"] for o in rendered_case("single-pool").objects)
    # The pool's Deployment, its metrics Service and the env ConfigMap: no Secret (SQLite needs none),
    # no autoscaler, PDB, monitor, rule, dashboard, Flower, exporter or character service.
    assert kinds == Counter({"Deployment": 1, "Service": 1, "ConfigMap": 1})
