"""docs/architecture.md's "How to add a subagent" stays true: its two snippets, run as written, add a
subagent that is planned, dispatched, answered and labelled with no other file touched."""

from __future__ import annotations

import json
import re
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eco2.adapters.offline.composer import compose
from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.domain.intents import Intent
from eco2.domain.registry import REGISTRY, Queue, SubagentSpec, label
from eco2.domain.subagents import FailMode, ResultStatus, SubagentResult
from eco2.orchestrator import routing
from eco2.ports.llm import AnswerInput
from tasks.celeryconfig import celery_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
NAME = "tip_of_the_day"


def _snippets() -> tuple[str, str]:
    text = DOC.read_text("utf-8")
    section = text.split("## How to add a subagent", 1)[1].split("\n## ", 1)[0]
    blocks = [re.sub(r"^ {3}", "", block, flags=re.M) for block in re.findall(r"```python\n(.*?)```", section, re.S)]
    assert len(blocks) == 2, "the section shows the package's module and the registry entry"
    return blocks[0], blocks[1]


@pytest.fixture
def added() -> Iterator[SubagentSpec]:
    module_source, entry_source = _snippets()
    module = types.ModuleType(f"eco2.subagents.{NAME}")
    exec(compile(module_source, f"<{DOC.name}: package>", "exec"), module.__dict__)
    names: dict[str, Any] = {"SubagentSpec": SubagentSpec, "Queue": Queue, "FailMode": FailMode, "Intent": Intent}
    spec = eval(compile(entry_source, f"<{DOC.name}: entry>", "eval"), names)
    assert isinstance(spec, SubagentSpec)
    assert spec.factory == f"eco2.subagents.{NAME}:build"
    sys.modules[module.__name__] = module
    try:
        with REGISTRY.including(spec):
            yield spec
    finally:
        del sys.modules[module.__name__]


def test_the_new_subagent_is_planned_routed_and_labelled(added: SubagentSpec) -> None:
    assert NAME in routing.plan_for([Intent.GENERAL.value])
    assert routing.feature_of(Intent.GENERAL).required == "general"  # it enriches, it does not serve
    routes = celery_config(Settings.from_env({}))["task_routes"]
    assert routes[f"eco2.subagent.{NAME}"] == {"queue": "eco2.io"}
    assert label(NAME) == "오늘의 팁"
    failed = SubagentResult(NAME, ResultStatus.FAILED)
    text = compose(AnswerInput("안녕하세요", ("general",), (failed,), missing=(NAME,)))
    assert "오늘의 팁: 일시적인 오류로 가져오지 못했어요" in text


def test_the_new_subagent_is_built_dispatched_and_answers(added: SubagentSpec) -> None:
    done: dict[str, dict[str, Any]] = {}

    def listen(job_id: str, fields: dict[str, str]) -> None:
        if fields.get("type") == "done":
            done[job_id] = json.loads(fields["data"])

    container, _ = bootstrap_inline(Settings.from_env({"ECO2_LLM_PROVIDER": "offline"}), listener=listen)
    job_id = uuid.uuid4().hex
    container.service.accept((), {"job_id": job_id, "message": "안녕하세요"})
    data = done[job_id]
    assert data["subagents"][NAME] == "ok"
    assert "오늘의 팁: 페트병은 라벨을 떼고" in data["answer"]


def test_without_the_entry_nothing_knows_it() -> None:
    assert NAME not in REGISTRY.names()
    assert NAME not in routing.plan_for([Intent.GENERAL.value])
