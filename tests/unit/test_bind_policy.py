"""One bind policy for the endpoints eco2 opens: loopback unless told otherwise; the chart opens the
metrics port to the cluster (issue 14)."""

from __future__ import annotations

from pathlib import Path

from eco2.adapters.prometheus.exposition import MetricsHost
from eco2.config import Settings
from tests.helm.chart import env_of, rendered_case


def test_the_host_metrics_endpoint_binds_loopback_by_default(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert settings.metrics_addr == "127.0.0.1"
    host = MetricsHost(tmp_path, 0, settings.metrics_addr)
    assert host.start()
    try:
        assert host.addr == "127.0.0.1"
    finally:
        host.stop()
    assert Settings.from_env({"ECO2_METRICS_ADDR": "0.0.0.0"}).metrics_addr == "0.0.0.0"


def test_the_chart_opens_the_metrics_port_to_the_cluster() -> None:
    for deployment in rendered_case("default").workers():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert env_of(container)["ECO2_METRICS_ADDR"]["value"] == "0.0.0.0"
