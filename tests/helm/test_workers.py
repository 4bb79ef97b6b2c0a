"""Worker pools: one Deployment per pool, every registry queue consumed and autoscaled on its own length,
shutdown that loses nothing, probes that mean something, and the metrics directory on an emptyDir."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eco2.config import Settings
from eco2.domain.registry import ALL_QUEUES, REGISTRY
from tasks.celeryconfig import celery_config
from tests.helm.chart import CHART, Rendered, containers, env_of, rendered_case

SOFT_SHUTDOWN_S = float(celery_config(Settings())["worker_soft_shutdown_timeout"])
COLD_SHUTDOWN_MARGIN_S = 15
"""Requeueing unfinished tasks, then each pool process flushing telemetry (tasks/signals.py, up to 5 s)."""


def worker_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def option(args: list[str], name: str) -> str:
    """The value of ``--name=value`` in ``args``."""
    (value,) = [a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")]
    return value


def consumed(deployment: dict[str, Any]) -> list[str]:
    return option(worker_container(deployment)["args"], "queues").split(",")


def test_default_pools_consume_every_queue_of_the_subagent_registry(default: Rendered) -> None:
    registry_queues = {q.value for q in ALL_QUEUES} | {spec.queue.value for spec in REGISTRY}
    by_queue: dict[str, list[str]] = {}
    for deployment in default.workers():
        for queue in consumed(deployment):
            by_queue.setdefault(queue, []).append(deployment["metadata"]["name"])
    assert set(by_queue) == registry_queues
    # The default values give each queue a pool of its own, so each scales on its own length.
    assert all(len(pools) == 1 for pools in by_queue.values()), by_queue


def test_schema_queue_names_are_the_registry_queues() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    enum = schema["properties"]["pools"]["items"]["properties"]["queues"]["items"]["enum"]
    assert sorted(enum) == sorted(q.value for q in ALL_QUEUES)


def test_each_pool_is_a_deployment_running_eco2_worker_with_its_pool_options(rendered: Rendered) -> None:
    pools = rendered.values.get("pools") or _default_pools()
    assert len(rendered.workers()) == len(pools)
    for pool in pools:
        deployment = rendered.get("Deployment", f"eco2-worker-{pool['name']}")
        args = worker_container(deployment)["args"]
        assert args[:2] == ["eco2", "worker"]  # prepares PROMETHEUS_MULTIPROC_DIR, then execs celery
        assert "command" not in worker_container(deployment)  # the image's tini stays PID 1
        assert option(args, "queues").split(",") == pool["queues"]
        assert option(args, "pool") == pool["pool"]
        assert option(args, "concurrency") == str(pool["concurrency"])
        assert option(args, "processes") == str(pool.get("processes", 1))
        assert option(args, "hostname") == f"{pool['name']}@%h"
        assert "--task-events" in args


def _default_pools() -> list[dict[str, Any]]:
    import yaml

    return list(yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["pools"])


def test_keda_scales_each_pool_on_the_redis_lists_of_its_queues(default: Rendered) -> None:
    assert default.of_kind("HorizontalPodAutoscaler") == []
    for deployment in default.workers():
        name = deployment["metadata"]["name"]
        scaled = default.get("ScaledObject", name)
        assert scaled["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        triggers = scaled["spec"]["triggers"]
        assert [t["metadata"]["listName"] for t in triggers] == consumed(deployment)
        for trigger in triggers:
            assert trigger["type"] == "redis"
            assert trigger["metadata"]["address"] == "redis-master:6379"
            assert trigger["metadata"]["databaseIndex"] == "0"
        # The autoscaler owns the replica count.
        assert "replicas" not in deployment["spec"]


@pytest.mark.parametrize("case", ["default-without-keda", "no-keda"])
def test_without_keda_each_pool_gets_an_hpa(case: str) -> None:
    rendered = rendered_case(case)
    assert rendered.of_kind("ScaledObject") == []
    assert rendered.of_kind("TriggerAuthentication") == []
    for deployment in rendered.workers():
        hpa = rendered.get("HorizontalPodAutoscaler", deployment["metadata"]["name"])
        metrics = hpa["spec"]["metrics"]
        assert metrics[0]["resource"]["name"] == "cpu"
        external = [m["external"]["metric"]["selector"]["matchLabels"]["queue_name"] for m in metrics[1:]]
        # no-keda serves celery_queue_length through an adapter: one External metric per queue.
        assert external == (consumed(deployment) if rendered.case.name == "no-keda" else [])
        assert hpa["spec"]["minReplicas"] >= 1
        assert "replicas" not in deployment["spec"]


def test_with_rabbitmq_every_pod_reads_the_broker_url_from_its_secret_and_keda_scales_on_its_queues() -> None:
    r = rendered_case("rabbitmq")
    ref = {"name": "rabbitmq-broker", "key": "url"}
    for deployment in r.of_kind("Deployment"):
        for container in containers(deployment):
            env = env_of(container)
            if "ECO2_REDIS_URL" in env:  # Redis keeps streams, results and sessions; the queues are AMQP
                assert env["ECO2_BROKER_URL"]["valueFrom"]["secretKeyRef"] == ref
    exporter = r.get("Deployment", "eco2-celery-exporter")
    assert "--broker-url=$(ECO2_BROKER_URL)" in next(containers(exporter))["args"]
    auth = r.get("TriggerAuthentication", "eco2-rabbitmq")
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "host", **ref}]
    assert [a["metadata"]["name"] for a in r.of_kind("TriggerAuthentication")] == ["eco2-rabbitmq"]
    for deployment in r.workers():
        triggers = r.get("ScaledObject", deployment["metadata"]["name"])["spec"]["triggers"]
        assert [t["metadata"]["queueName"] for t in triggers] == consumed(deployment)
        for trigger in triggers:
            assert trigger["type"] == "rabbitmq"
            assert trigger["metadata"]["mode"] == "QueueLength"
            assert trigger["authenticationRef"] == {"name": "eco2-rabbitmq"}
    # The same container settings read with a real AMQP URL choose the AMQP transport options.
    settings = Settings.from_env({"ECO2_BROKER_URL": "amqp://eco2:pw@rabbitmq:5672/eco2"})
    assert celery_config(settings)["broker_transport_options"] == {"confirm_publish": True}


def test_keda_authenticates_with_the_redis_password_and_ca_from_their_secrets() -> None:
    r = rendered_case("existing-secret")
    auth = r.get("TriggerAuthentication", "eco2-redis")
    refs = {ref["parameter"]: (ref["name"], ref["key"]) for ref in auth["spec"]["secretTargetRef"]}
    assert refs == {"password": ("redis-credentials", "password"), "ca": ("redis-ca", "ca.crt")}
    for scaled in r.of_kind("ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"] == {"name": "eco2-redis"}
            assert trigger["metadata"]["enableTLS"] == "true"
            assert trigger["metadata"]["address"] == "redis.data.svc.cluster.local:6380"
            assert trigger["metadata"]["databaseIndex"] == "2"
            assert trigger["metadata"]["usernameFromEnv"] == "ECO2_REDIS_USERNAME"


def test_soft_shutdown_ends_before_the_grace_period(rendered: Rendered) -> None:
    for deployment in rendered.workers():
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > SOFT_SHUTDOWN_S + COLD_SHUTDOWN_MARGIN_S
        env = env_of(worker_container(deployment))
        # SIGTERM must start Celery's cold shutdown (soft shutdown, then requeue), not the warm one that
        # waits for every running task and is cut by SIGKILL.
        assert env["REMAP_SIGTERM"]["value"] == "SIGQUIT"


def test_chart_knows_celerys_soft_shutdown_timeout() -> None:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    assert f'{{{{- define "eco2.celerySoftShutdownSeconds" -}}}}{SOFT_SHUTDOWN_S:g}{{{{- end }}}}' in helpers
    # The schema's floor for the grace period is the same arithmetic.
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    floor = schema["properties"]["workers"]["properties"]["terminationGracePeriodSeconds"]["minimum"]
    assert floor == SOFT_SHUTDOWN_S + COLD_SHUTDOWN_MARGIN_S + 1


def test_rollouts_and_drains_keep_workers_consuming(rendered: Rendered) -> None:
    pdbs = {p["metadata"]["name"]: p for p in rendered.of_kind("PodDisruptionBudget")}
    pdb_on = rendered.values.get("workers", {}).get("podDisruptionBudget", {}).get("enabled", True)
    for deployment in rendered.workers():
        strategy = deployment["spec"]["strategy"]
        assert strategy["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
        if pdb_on:
            pdb = pdbs[deployment["metadata"]["name"]]
            assert pdb["spec"]["maxUnavailable"] == 1  # a one-replica pool never blocks a drain
            assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    if not pdb_on:
        assert not [p for p in pdbs.values() if p["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"]


def test_probes_read_the_heartbeat_file_the_worker_touches(rendered: Rendered) -> None:
    for deployment in rendered.workers():
        container = worker_container(deployment)
        heartbeat = env_of(container)["ECO2_HEARTBEAT_FILE"]["value"]
        limits = {}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            assert command[:2] == ["sh", "-c"]
            assert f"stat -c %Y {heartbeat} " in command[2]
            limits[probe] = int(command[2].rsplit("-lt", 1)[1])
        # Ready means a heartbeat in the last few seconds; alive tolerates a short broker outage.
        assert limits["readinessProbe"] < limits["livenessProbe"]
        assert container["readinessProbe"]["periodSeconds"] < container["livenessProbe"]["periodSeconds"]
        # The heartbeat file lives on a writable volume.
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert any(heartbeat.startswith(path + "/") for path in mounts)


def test_heartbeat_probe_command_passes_fresh_and_fails_stale_or_missing(tmp_path: Any) -> None:
    import os
    import subprocess
    import time

    command = worker_container(rendered_case("default").workers()[0])["readinessProbe"]["exec"]["command"]
    heartbeat = tmp_path / "eco2.heartbeat"
    local = [command[0], command[1], command[2].replace("/tmp/eco2.heartbeat", str(heartbeat))]
    assert subprocess.run(local, check=False).returncode != 0  # missing
    heartbeat.touch()
    assert subprocess.run(local, check=False).returncode == 0  # fresh
    stale = time.time() - 60
    os.utime(heartbeat, (stale, stale))
    assert subprocess.run(local, check=False).returncode != 0  # stale


def test_metrics_dir_is_an_emptydir_and_the_endpoint_is_exposed(rendered: Rendered) -> None:
    for deployment in rendered.workers():
        spec = deployment["spec"]["template"]["spec"]
        container = worker_container(deployment)
        metrics_dir = env_of(container)["PROMETHEUS_MULTIPROC_DIR"]["value"]
        (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == metrics_dir]
        (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
        assert "emptyDir" in volume
        assert env_of(container)["ECO2_METRICS_PORT"]["value"] == "9191"
        assert container["ports"] == [{"name": "metrics", "containerPort": 9191, "protocol": "TCP"}]
    if rendered.workers():
        service = rendered.get("Service", "eco2-worker-metrics")
        assert service["spec"]["clusterIP"] == "None"  # every pod is its own target
        assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_prefork_processes_are_recycled_before_the_pod_reaches_its_memory_limit(rendered: Rendered) -> None:
    for deployment in rendered.workers():
        container = worker_container(deployment)
        env = env_of(container)
        if option(container["args"], "pool") != "prefork":
            assert "ECO2_WORKER_MAX_MEMORY_MB" not in env  # Celery recycles only prefork processes
            continue
        per_process = int(env["ECO2_WORKER_MAX_MEMORY_MB"]["value"])
        limit = container["resources"]["limits"]["memory"]
        limit_mib = int(limit[:-2]) * (1024 if limit.endswith("Gi") else 1)
        assert per_process * int(option(container["args"], "concurrency")) + 256 <= limit_mib
        assert per_process >= 300  # an eco2 pool process holds ~250 MiB: it must not be recycled after every task


def test_the_chat_pool_streams_in_threads_by_default(default: Rendered) -> None:
    args = worker_container(default.get("Deployment", "eco2-worker-chat"))["args"]
    assert option(args, "pool") == "threads"  # a streaming answer holds a thread, not a process
    assert int(option(args, "concurrency")) >= 32
    assert option(args, "processes") == "1"  # one core per pod; more streams come from more pods


def test_threads_pools_hold_a_stream_per_slot_within_their_memory_limit(rendered: Rendered) -> None:
    for deployment in rendered.workers():
        container = worker_container(deployment)
        if option(container["args"], "pool") != "threads":
            continue
        limit = container["resources"]["limits"]["memory"]
        limit_mib = int(limit[:-2]) * (1024 if limit.endswith("Gi") else 1)
        processes, slots = int(option(container["args"], "processes")), int(option(container["args"], "concurrency"))
        assert processes * (384 + slots) <= limit_mib, deployment["metadata"]["name"]


def test_an_explicit_per_process_bound_wins_and_zero_turns_recycling_off() -> None:
    from tests.helm.chart import load_values, parse, render

    values = load_values("single-pool-values.yaml")
    (only,) = values["pools"]
    for bound in (0, 300):
        values["pools"] = [{**only, "pool": "prefork", "concurrency": 2, "maxMemoryPerChildMB": bound}]
        objects = parse(render(values))
        (deployment,) = [d for d in objects if d["kind"] == "Deployment" and "worker" in d["metadata"]["name"]]
        assert env_of(worker_container(deployment))["ECO2_WORKER_MAX_MEMORY_MB"]["value"] == str(bound)


def test_chat_pool_gets_the_shared_checkpointer_from_a_secret(rendered: Rendered) -> None:
    sqlite = rendered.values.get("checkpoint", {}).get("sqliteSingleReplica", False)
    for deployment in rendered.workers():
        if "eco2.chat" not in consumed(deployment):
            continue
        env = env_of(worker_container(deployment))
        if sqlite:
            assert "ECO2_CHECKPOINT_URL" not in env
            assert deployment["spec"]["replicas"] == 1
            assert not rendered.of_kind("ScaledObject")
            assert not rendered.of_kind("HorizontalPodAutoscaler")
        else:
            ref = env["ECO2_CHECKPOINT_URL"]["valueFrom"]["secretKeyRef"]
            assert "optional" not in ref  # a missing checkpoint URL must stop the pod, not fall back to SQLite
            expected = (
                ("eco2-checkpoint", "url")
                if rendered.case.name == "existing-secret"
                else ("eco2", "ECO2_CHECKPOINT_URL")
            )
            assert (ref["name"], ref["key"]) == expected


def test_the_redis_url_never_holds_the_password() -> None:
    r = rendered_case("existing-secret")
    for deployment in r.of_kind("Deployment"):
        for container in containers(deployment):
            env = env_of(container)
            if "ECO2_REDIS_URL" not in env:
                continue
            names = list(env)
            assert names.index("ECO2_REDIS_PASSWORD") < names.index("ECO2_REDIS_URL")  # $(...) needs it first
            assert env["ECO2_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": "redis-credentials",
                "key": "password",
            }
            assert env["ECO2_REDIS_URL"]["value"] == (
                "rediss://eco2:$(ECO2_REDIS_PASSWORD)@redis.data.svc.cluster.local:6380/2"
                "?ssl_cert_reqs=required&ssl_ca_certs=/etc/eco2/redis-ca/ca.crt"
            )
            assert {"name": "redis-ca", "mountPath": "/etc/eco2/redis-ca", "readOnly": True} in container[
                "volumeMounts"
            ]


def test_redis_url_is_read_the_same_way_by_celery_kombu_and_redis_py() -> None:
    import redis
    from celery import Celery
    from kombu.utils.url import parse_url

    deployment = rendered_case("existing-secret").workers()[0]
    value = env_of(worker_container(deployment))["ECO2_REDIS_URL"]["value"].replace(
        "$(ECO2_REDIS_PASSWORD)", "s3cret-x"
    )
    broker = parse_url(value)
    assert (broker["hostname"], broker["port"], broker["userid"], broker["password"]) == (
        "redis.data.svc.cluster.local",
        6380,
        "eco2",
        "s3cret-x",
    )
    assert broker["ssl"]["ssl_ca_certs"] == "/etc/eco2/redis-ca/ca.crt"
    streams = redis.Redis.from_url(value).connection_pool.connection_kwargs
    assert (streams["password"], streams["ssl_cert_reqs"], streams["db"]) == ("s3cret-x", "required", 2)
    backend = Celery(broker=value, backend=value).backend
    assert backend.connparams["password"] == "s3cret-x"
    assert backend.connparams["ssl_ca_certs"].endswith("ca.crt")


def test_workers_get_the_character_service_address(default: Rendered) -> None:
    service = default.get("Service", "eco2-character")
    port = service["spec"]["ports"][0]["port"]
    for deployment in default.workers():
        assert env_of(worker_container(deployment))["ECO2_CHARACTER_GRPC_ADDR"]["value"] == f"eco2-character:{port}"


def test_without_the_character_service_workers_serve_the_characters_themselves() -> None:
    rendered = rendered_case("single-pool")  # character.enabled: false
    assert rendered.values["character"]["enabled"] is False
    for deployment in rendered.workers():
        # Unset means the embedded service of each worker process, never a guessed address.
        assert "ECO2_CHARACTER_GRPC_ADDR" not in env_of(worker_container(deployment))
    assert Settings.from_env({}).character_grpc_addr == ""


def test_a_pool_can_have_its_own_placement() -> None:
    (deployment,) = rendered_case("single-pool").workers()
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert pod["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "eco2", "effect": "NoSchedule"}]
    assert "nodeSelector" not in rendered_case("default").workers()[0]["spec"]["template"]["spec"]
