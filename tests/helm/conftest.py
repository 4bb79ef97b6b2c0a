"""Fixtures of the chart tests: each case's render, done once per session (see chart.py)."""

from __future__ import annotations

import pytest

from tests.helm.chart import CASE_NAMES, Rendered, rendered_case


@pytest.fixture(params=CASE_NAMES)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    """Each case's render (rendered once per session, whichever test asks first)."""
    return rendered_case(request.param)


@pytest.fixture
def default() -> Rendered:
    """The default values against a cluster with KEDA and the Prometheus Operator."""
    return rendered_case("default")
