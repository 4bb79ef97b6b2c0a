"""Flower, the celery-exporter, the character service, Secrets, security defaults and NetworkPolicies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.chart import Rendered, component, containers, env_of, rendered_case

API_KEYS = ("LANGCHAIN_API_KEY", "OPENAI_API_KEY", "KAKAO_REST_API_KEY", "DATA_GO_KR_SERVICE_KEY", "KECO_API_KEY")


def the_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_every_pod_runs_unprivileged_on_a_read_only_root(rendered: Rendered) -> None:
    for deployment in rendered.of_kind("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in containers(deployment):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc.get("privileged") is not True
            # Writable paths are emptyDirs: /tmp everywhere, plus the state and metrics dirs of workers.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
            for path in ("/var/lib/eco2", "/run/eco2/metrics") if component(deployment) == "worker" else ():
                assert "emptyDir" in volumes[mounts[path]]
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert {"cpu", "memory"} <= requests.keys()
            assert "memory" in limits


def test_eco2_pods_run_as_the_images_user(rendered: Rendered) -> None:
    for deployment in rendered.of_kind("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        if component(deployment) == "celery-exporter":
            # The exporter image's user has no numeric USER: runAsNonRoot needs the UID spelled out.
            assert the_container(deployment)["securityContext"]["runAsUser"] == 1000
        else:
            assert pod["securityContext"]["runAsUser"] == 10001


def test_api_keys_come_from_a_secret_as_the_article_shows() -> None:
    r = rendered_case("existing-secret")
    assert r.of_kind("Secret") == []  # every credential comes from an existing Secret
    for deployment in r.workers():
        env = env_of(the_container(deployment))
        for key in API_KEYS:
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "eco2-api-keys", "key": key, "optional": True}
        assert env["LANGCHAIN_API_KEY"].get("value") is None
    config = r.get("ConfigMap", "eco2-config")["data"]
    assert config["LANGCHAIN_TRACING_V2"] == "true"
    assert config["LANGCHAIN_PROJECT"] == "eco2-chat-worker"
    # Only workers call the APIs; Flower, the exporter and the character service never see the keys.
    for deployment in r.of_kind("Deployment"):
        if component(deployment) != "worker":
            assert not set(API_KEYS) & set(env_of(the_container(deployment)))


def test_inline_credentials_render_one_secret_referenced_by_the_pods(default: Rendered) -> None:
    (secret,) = default.of_kind("Secret")
    assert secret["metadata"]["name"] == "eco2"
    assert set(secret["stringData"]) == {"ECO2_CHECKPOINT_URL", "FLOWER_BASIC_AUTH"}
    flower = env_of(the_container(default.get("Deployment", "eco2-flower")))
    assert flower["FLOWER_BASIC_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": "eco2", "key": "FLOWER_BASIC_AUTH"}
    # No API key was given: no env entry for one.
    for deployment in default.workers():
        assert not set(API_KEYS) & set(env_of(the_container(deployment)))
    # Pods roll when the Secret or the config changes.
    for deployment in default.of_kind("Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert {"checksum/config", "checksum/secret"} <= annotations.keys()


def test_flower_runs_the_projects_conf_with_auth_and_stays_internal() -> None:
    r = rendered_case("existing-secret")
    deployment = r.get("Deployment", "eco2-flower")
    container = the_container(deployment)
    assert container["args"] == ["celery", "-A", "tasks", "flower", "--conf=/app/flower.conf"]
    env = env_of(container)
    assert env["FLOWER_BASIC_AUTH"]["valueFrom"]["secretKeyRef"] == {"name": "flower-credentials", "key": "basic-auth"}
    assert "FLOWER_UNAUTHENTICATED_API" not in env
    assert env["FLOWER_ADDRESS"]["value"] == "0.0.0.0"
    assert env["FLOWER_URL_PREFIX"]["value"] == "ops/flower"
    assert env["FLOWER_READ_ONLY"]["value"] == "true"
    # /healthcheck is unauthenticated in Flower and moves under the prefix.
    assert container["readinessProbe"]["httpGet"]["path"] == "/ops/flower/healthcheck"
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert r.get("Service", "eco2-flower")["spec"]["type"] == "ClusterIP"


def test_celery_exporter_is_the_maintained_image_watching_every_pool_queue(default: Rendered) -> None:
    deployment = default.get("Deployment", "eco2-celery-exporter")
    container = the_container(deployment)
    assert container["image"].startswith("ghcr.io/danihodovic/celery-exporter:")
    args = container["args"]
    # The broker URL is expanded by Kubernetes from the env: no credential in the pod spec.
    assert "--broker-url=$(ECO2_REDIS_URL)" in args
    assert "--queues=eco2.chat,eco2.io,eco2.cpu" in args
    (purge,) = [int(a.split("=")[1]) for a in args if a.startswith("--purge-offline-worker-metrics=")]
    assert purge > 15 * 60  # above CeleryWorkerDown's 15 minutes
    assert "ECO2_REDIS_URL" in env_of(container)
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    # Task events: the workers send them.
    for worker in default.workers():
        assert "--task-events" in the_container(worker)["args"]
    assert deployment["spec"]["replicas"] == 1  # two exporters would double every task counter


def test_character_service_serves_grpc_with_grpc_health_probes(default: Rendered) -> None:
    deployment = default.get("Deployment", "eco2-character")
    container = the_container(deployment)
    assert container["args"][:2] == ["eco2", "character-server"]
    assert container["args"][2:4] == ["--addr", "0.0.0.0:50051"]
    assert container["readinessProbe"]["grpc"] == {"port": 50051, "service": "character.v1.CharacterService"}
    assert container["livenessProbe"]["grpc"] == {"port": 50051}
    service = default.get("Service", "eco2-character")
    assert service["spec"]["ports"] == [
        {"name": "grpc", "port": 50051, "targetPort": "grpc", "protocol": "TCP", "appProtocol": "grpc"}
    ]
    pdb = default.get("PodDisruptionBudget", "eco2-character")
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    # The server stops within --grace after SIGTERM, which comes after the preStop pause.
    grace = int(container["args"][container["args"].index("--grace") + 1])
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > pause + grace


def test_network_policies_keep_flower_and_metrics_internal() -> None:
    r = rendered_case("existing-secret")
    policies = {p["metadata"]["name"]: p["spec"] for p in r.of_kind("NetworkPolicy")}
    assert set(policies) == {"eco2-worker", "eco2-celery-exporter", "eco2-flower", "eco2-character"}
    same_namespace = {"podSelector": {}}
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ingress_nginx = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    expected = {
        "eco2-worker": (9191, [same_namespace, monitoring]),
        "eco2-celery-exporter": (9808, [same_namespace, monitoring]),
        "eco2-flower": (5555, [same_namespace, ingress_nginx]),
        "eco2-character": (50051, [same_namespace]),
    }
    for name, (port, peers) in expected.items():
        spec = policies[name]
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
        assert rule["from"] == peers
    # Each policy selects its component's pods.
    for deployment in r.of_kind("Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selecting = [n for n, s in policies.items() if s["podSelector"]["matchLabels"].items() <= labels.items()]
        assert len(selecting) == 1, deployment["metadata"]["name"]


@pytest.mark.parametrize("case", ["default", "single-pool"])
def test_network_policies_are_opt_in(case: str) -> None:
    assert rendered_case(case).of_kind("NetworkPolicy") == []


def test_notes_say_which_autoscaler_was_chosen() -> None:
    assert "autoscaler: keda" in rendered_case("default").templates["eco2/templates/NOTES.txt"]
    notes = rendered_case("default-without-keda").templates["eco2/templates/NOTES.txt"]
    assert "autoscaler: hpa" in notes
    assert "CPU only" in notes
    assert "sqliteSingleReplica" in rendered_case("single-pool").templates["eco2/templates/NOTES.txt"]
