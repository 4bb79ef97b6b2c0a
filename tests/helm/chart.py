"""Render the chart offline, once per case per session, and read what it rendered.

Helm runs in process: ``helm-python-sdk`` wraps ``libhelm_c``, Helm's Go SDK built as a C library and
shipped inside the wheel, so nothing is downloaded at run time and no ``helm`` binary is needed. Its
``Chart.render`` has no way to say which APIs the cluster serves, which the chart needs (it picks KEDA or
an HPA from ``.Capabilities.APIVersions``); the C ABI's render options do (``kube_version``,
``api_versions``), so :func:`render` calls it through the SDK's ``_native.call_string``, the same call
``Chart.render`` makes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml
from helm_python import _native

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "eco2"
RELEASE = "eco2"
NAMESPACE = "eco2"
KUBE_VERSION = "v1.30.0"

KEDA_APIS = ("keda.sh/v1alpha1", "keda.sh/v1alpha1/ScaledObject", "keda.sh/v1alpha1/TriggerAuthentication")
MONITORING_APIS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1/ServiceMonitor",
    "monitoring.coreos.com/v1/PrometheusRule",
)


@dataclass(frozen=True, slots=True)
class Case:
    """One render: a values file of ``helm/eco2/ci`` against a cluster serving ``apis``."""

    name: str
    values_file: str
    apis: tuple[str, ...]
    """API versions the simulated cluster serves besides the built-in ones."""


CASES: tuple[Case, ...] = (
    Case("default", "default-values.yaml", KEDA_APIS + MONITORING_APIS),
    Case("default-without-keda", "default-values.yaml", MONITORING_APIS),
    Case("no-keda", "no-keda-values.yaml", MONITORING_APIS),
    Case("existing-secret", "existing-secret-values.yaml", KEDA_APIS + MONITORING_APIS),
    Case("single-pool", "single-pool-values.yaml", ()),
    Case("rabbitmq", "rabbitmq-values.yaml", KEDA_APIS + MONITORING_APIS),
)
CASE_NAMES = tuple(case.name for case in CASES)


@dataclass(frozen=True)
class Rendered:
    """The output of one render: manifests by template and every object parsed."""

    case: Case
    values: dict[str, Any]
    templates: dict[str, str]
    objects: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of ``kind``."""
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        """The one object of ``kind`` named ``name`` (``KeyError`` if absent)."""
        for o in self.objects:
            if o["kind"] == kind and o["metadata"]["name"] == name:
                return o
        have = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in self.objects)
        raise KeyError(f"{kind}/{name} not rendered; have {have}")

    def workers(self) -> list[dict[str, Any]]:
        """The worker Deployments."""
        return [d for d in self.of_kind("Deployment") if component(d) == "worker"]


def component(obj: Mapping[str, Any]) -> str:
    """The ``app.kubernetes.io/component`` label of an object."""
    return str(obj["metadata"]["labels"].get("app.kubernetes.io/component", ""))


def load_values(name: str) -> dict[str, Any]:
    """A values file of ``helm/eco2/ci``."""
    data = yaml.safe_load((CHART / "ci" / name).read_text(encoding="utf-8"))
    return dict(data or {})


def render(values: Mapping[str, Any], apis: Sequence[str] = ()) -> dict[str, str]:
    """Render the chart like ``helm template`` (schema validation included); raises ``helm.HelmError``."""
    opts = {
        "name": RELEASE,
        "namespace": NAMESPACE,
        "is_install": True,
        "kube_version": KUBE_VERSION,
        "api_versions": list(apis),
    }
    with helm.Chart.load(CHART) as chart:
        out: dict[str, str] = json.loads(
            _native.call_string("helm_render", chart._raw(), json.dumps(dict(values)), json.dumps(opts))
        )
    return out


def parse(templates: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object of the rendered templates (NOTES.txt is not one)."""
    objects: list[dict[str, Any]] = []
    for path, text in sorted(templates.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


@cache
def rendered_case(name: str) -> Rendered:
    """Render ``name`` once per session."""
    case = next(c for c in CASES if c.name == name)
    values = load_values(case.values_file)
    templates = render(values, case.apis)
    return Rendered(case, values, templates, parse(templates))


def containers(pod_owner: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The containers (init containers included) of a Deployment's pod template."""
    spec = pod_owner["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def env_of(container: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A container's env entries by name."""
    return {e["name"]: e for e in container.get("env", [])}
