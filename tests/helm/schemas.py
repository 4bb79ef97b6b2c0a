"""Validate rendered manifests against Kubernetes 1.30 and the CRDs the chart uses, strictly.

Built-in kinds: ``kubernetes-validate`` with its bundled 1.30 strict schemas (unknown fields rejected, as
``kubectl apply`` does with server-side field validation).

Custom resources have no schema there. Their schemas come from ``cloudcoil-models-keda`` and
``cloudcoil-models-prometheus-operator``: pydantic models generated from KEDA's and the Prometheus
Operator's published CRDs. Their JSON schemas are made strict the same way (``additionalProperties: false``
on every object that lists its properties; maps such as labels or trigger metadata keep their own value
schema), so a misspelt field or a number where the CRD wants a string fails here, not at apply time.
A kind in neither set fails the test: there is no silent skip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv

KUBERNETES_VERSION = "1.30.0"

CRD_KINDS: dict[tuple[str, str], tuple[str, str]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): ("cloudcoil.models.keda.v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): ("cloudcoil.models.keda.v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ("cloudcoil.models.prometheus_operator.v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("cloudcoil.models.prometheus_operator.v1", "PrometheusRule"),
}
"""Custom resource kinds the chart renders, and the generated model that describes each."""


def _strict(node: Any) -> Any:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)
    return node


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    import importlib

    module_name, class_name = CRD_KINDS[(api_version, kind)]
    model = getattr(importlib.import_module(module_name), class_name)
    schema = _strict(model.model_json_schema(by_alias=True, mode="validation"))
    return jsonschema.Draft202012Validator(schema)


def _crd_errors(obj: Mapping[str, Any]) -> list[str]:
    validator = _crd_validator(obj["apiVersion"], obj["kind"])
    found = sorted(validator.iter_errors(dict(obj)), key=lambda e: list(e.absolute_path))
    return [_describe(jsonschema.exceptions.best_match([e]) or e) for e in found]


def _describe(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{path}: {error.message[:300]}"


def _builtin_errors(obj: Mapping[str, Any]) -> list[str]:
    try:
        kv.validate(dict(obj), KUBERNETES_VERSION, strict=True)
    except kv.ValidationError as exc:
        return [_describe(exc)]
    except kv.SchemaNotFoundError as exc:
        return [f"no schema: {exc.message}; add the kind to CRD_KINDS with a model of its CRD"]
    return []


def validation_errors(obj: Mapping[str, Any]) -> list[str]:
    """Why ``obj`` would be rejected by a 1.30 API server with the CRDs installed (empty: it would not)."""
    check: Callable[[Mapping[str, Any]], list[str]]
    check = _crd_errors if (obj["apiVersion"], obj["kind"]) in CRD_KINDS else _builtin_errors
    return check(obj)
