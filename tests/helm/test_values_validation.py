"""Wrong values fail at install time with a message that names the value and the way out."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helm.chart import CHART, helm, load_values, render

BASE = load_values("default-values.yaml")


def with_values(**changes: Any) -> dict[str, Any]:
    """The default CI values with ``changes`` merged in (dotted keys)."""
    values = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node = values
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return values


def pool(name: str, queues: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "queues": queues,
        "pool": "prefork",
        "concurrency": 1,
        "replicas": 1,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "768Mi"}},
        **extra,
    }


def schema_error(values: dict[str, Any]) -> str:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError) as caught:
        chart.validate_schema(chart.merge_values(values))
    return str(caught.value)


def render_error(values: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as caught:
        render(values)
    return str(caught.value)


def test_the_chart_defaults_alone_fail_listing_every_way_to_configure_the_checkpointer() -> None:
    message = schema_error({})
    for way in (
        "/checkpoint/url",
        "/checkpoint/existingSecret",
        "/checkpoint/sqliteSingleReplica': value must be true",
    ):
        assert way in message
    for way in (
        "/flower/enabled",
        "/flower/auth/basicAuth",
        "/flower/auth/existingSecret",
        "/flower/auth/unauthenticated",
    ):
        assert way in message


def test_a_sqlite_checkpoint_url_is_refused() -> None:
    message = schema_error(with_values(checkpoint__url="sqlite:////var/lib/eco2/checkpoints.sqlite"))
    assert "/checkpoint/url" in message
    assert "postgres" in message


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"pools": [pool("chat", ["eco2.CHAT"])]},
            "/pools/0/queues/0': value must be one of 'eco2.chat', 'eco2.io', 'eco2.cpu'",
        ),
        ({"pools": [pool("chat", ["eco2.chat"], pool="gevent")]}, "/pools/0/pool': value must be one of"),
        ({"pools": [pool("Chat_Pool", ["eco2.chat"])]}, "/pools/0/name'"),
        ({"pools": [{**pool("chat", ["eco2.chat"]), "resources": {"requests": {"cpu": "1"}}}]}, "/pools/0/resources"),
        (
            {"workers__terminationGracePeriodSecond": 40},
            "additional properties 'terminationGracePeriodSecond' not allowed",
        ),
        (
            {"workers__terminationGracePeriodSeconds": 20},
            "/workers/terminationGracePeriodSeconds': minimum: got 20, want 26",
        ),
        (
            {"pools": [pool("all", ["eco2.chat"], terminationGracePeriodSeconds=12)]},
            "/pools/0/terminationGracePeriodSeconds'",
        ),
        ({"config__ECO2_JOB_TIMEOUT_S": 120}, "/config/ECO2_JOB_TIMEOUT_S': got number, want string"),
        ({"redis__host": "redis://redis:6379"}, "/redis/host'"),
        ({"redis__auth": {"enabled": True}}, "/redis/auth'"),
        ({"redis__auth": {"enabled": True, "password": "p@ss:word"}}, "/redis/auth/password'"),
        ({"celeryExporter__purgeOfflineWorkerMetrics": 600}, "/celeryExporter/purgeOfflineWorkerMetrics': minimum"),
        ({"flower__replicas": 2}, "/flower/replicas': maximum"),
        ({"pools": [pool("all", ["eco2.chat", "eco2.io", "eco2.cpu"], processes=0)]}, "/pools/0/processes': minimum"),
        ({"autoscaling__engine": "kedaa"}, "/autoscaling/engine': value must be one of"),
        ({"broker__kind": "kafka"}, "/broker/kind': value must be one of"),
        ({"broker__kind": "rabbitmq"}, "/broker/rabbitmq/existingSecret'"),  # its URL only from a Secret
    ],
)
def test_wrong_values_fail_the_schema_naming_the_value(changes: dict[str, Any], expected: str) -> None:
    assert expected in schema_error(with_values(**changes))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"pools": [pool("chat", ["eco2.chat"]), pool("io", ["eco2.io"])]},
            "no pool consumes the queue eco2.cpu, so its tasks would wait forever",
        ),
        (
            {"pools": [pool("a", ["eco2.chat", "eco2.io", "eco2.cpu"]), pool("a", ["eco2.io"])]},
            'the pool name "a" is used twice',
        ),
        (
            {"checkpoint": {"url": "", "sqliteSingleReplica": True}},
            "pool chat (which consumes eco2.chat) must have replicas: 1",
        ),
        (
            {
                "checkpoint": {"url": "", "sqliteSingleReplica": True},
                "pools": [
                    pool(
                        "all",
                        ["eco2.chat", "eco2.io", "eco2.cpu"],
                        autoscaling={"enabled": True, "minReplicas": 1, "maxReplicas": 3, "listLength": 4},
                    )
                ],
            },
            "pool all (which consumes eco2.chat) cannot autoscale",
        ),
        (
            {
                "pools": [
                    pool(
                        "all",
                        ["eco2.chat", "eco2.io", "eco2.cpu"],
                        autoscaling={"enabled": True, "minReplicas": 3, "maxReplicas": 2, "listLength": 4},
                    )
                ]
            },
            "pool all: autoscaling.maxReplicas (2) is below minReplicas (3)",
        ),
        ({"character__graceSeconds": 30}, "character.terminationGracePeriodSeconds (30) must exceed"),
        (
            {"pools": [pool("all", ["eco2.chat", "eco2.io", "eco2.cpu"], concurrency=2, maxMemoryPerChildMB=300)]},
            "pool all: 2 processes of up to maxMemoryPerChildMB=300 MiB do not fit its memory limit (768 MiB",
        ),
        (
            {"pools": [pool("all", ["eco2.chat", "eco2.io", "eco2.cpu"], concurrency=2)]},
            "pool all: its memory limit (768 MiB) leaves 256 MiB per process",
        ),
        (
            {
                "pools": [
                    pool(
                        "all",
                        ["eco2.chat", "eco2.io", "eco2.cpu"],
                        resources={"requests": {"cpu": "1", "memory": "1G"}, "limits": {"memory": "2G"}},
                    )
                ]
            },
            'pool all: its memory limit "2G" is not in Mi or Gi',
        ),
        (
            {"pools": [pool("all", ["eco2.chat", "eco2.io", "eco2.cpu"], pool="threads", concurrency=400)]},
            "pool all: 1 process(es), each 384 MiB plus 400 slots of 1 MiB, need 784 MiB, over its memory limit "
            "(768 MiB)",
        ),
        (
            {"pools": [pool("all", ["eco2.chat", "eco2.io", "eco2.cpu"], pool="threads", concurrency=64, processes=2)]},
            "pool all: 2 process(es), each 384 MiB plus 64 slots of 1 MiB, need 896 MiB",
        ),
        (
            {
                "pools": [
                    pool(
                        "all",
                        ["eco2.chat", "eco2.io", "eco2.cpu"],
                        pool="threads",
                        resources={"requests": {"cpu": "1", "memory": "1G"}, "limits": {"memory": "2G"}},
                    )
                ]
            },
            'pool all: its memory limit "2G" is not in Mi or Gi, so the chart cannot check that its 1 slots fit',
        ),
    ],
)
def test_values_that_only_the_templates_can_check_fail_with_a_clear_message(
    changes: dict[str, Any], expected: str
) -> None:
    assert expected in render_error(with_values(**changes))


def test_unconsumed_queues_are_allowed_when_another_release_consumes_them() -> None:
    values = with_values(pools=[pool("chat", ["eco2.chat"])], workers__allowUnconsumedQueues=True)
    assert any("eco2-worker-chat" in text for text in render(values).values())
