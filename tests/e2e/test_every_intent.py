"""One chat per intent through real workers, with every upstream played by its local fake server.

Kakao, KMA, MOIS and odcloud fakes speak the real request/response shapes, the character service is the
real gRPC server, OpenAI's Responses and Images APIs are fakes behind one base URL. Intent and answer stay
offline (deterministic), so each message must reach its subagent and come back with its data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from eco2.localrun import Worker
from eco2.subagents.character.server import start_server
from tests.conftest import worker_env
from tests.support import fake_kakao, fake_kma, fake_mois, fake_odcloud
from tests.support.fake_openai_images import FakeOpenAIImages
from tests.support.fake_openai_responses import FakeResponses
from tests.support.openai_router import OpenAIRouter
from tests.support.streams import collect, terminal

pytestmark = [pytest.mark.redis, pytest.mark.workers, pytest.mark.slow]

DATA_KEY = fake_kma.KEY
OPENAI_KEY = "sk-e2e-every-intent-0001"
GANGNAM = {"latitude": 37.4979, "longitude": 127.0276}

CASES = [
    ("waste", "페트병 어떻게 버려?", None, "waste_rag"),
    ("bulk_waste", "강남구에서 소파 버리는 방법 알려줘", None, "bulk_waste"),
    ("character", "페티가 누구야?", None, "character"),
    ("location", "근처 재활용센터 어디야?", GANGNAM, "location"),
    ("weather", "오늘 서울 날씨 어때?", None, "weather"),
    ("web_search", "2026년 분리배출 제도 바뀐 거 뉴스 검색해줘", None, "web_search"),
    ("collection_point", "강남구 폐휴대폰 수거함 어디 있어?", GANGNAM, "collection_point"),
    ("recyclable_price", "폐지 kg당 얼마야?", None, "recyclable_price"),
    ("image_generation", "분리수거 포스터 그려줘", None, "image_generation"),
    ("general", "탄소중립이 뭐야?", None, "general"),
]


@pytest.fixture(scope="module")
def upstreams(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    # One data.go.kr key for KMA and MOIS, as in production: the fakes accept the same one.
    monkeypatch_module.setattr(fake_mois, "VALID_KEY", DATA_KEY)
    character = start_server("127.0.0.1:0")
    with (
        fake_kakao.FakeKakao() as kakao,
        fake_kma.FakeKma() as kma,
        fake_mois.FakeMois() as mois,
        fake_odcloud.FakeOdcloud() as odcloud,
        FakeResponses(OPENAI_KEY) as responses,
        FakeOpenAIImages(OPENAI_KEY) as images,
        OpenAIRouter({"/v1/responses": responses.base_url, "/v1/images": images.base_url}) as router,
    ):
        yield {
            "KAKAO_REST_API_KEY": fake_kakao.KEY,
            "ECO2_KAKAO_BASE_URL": kakao.base_url,
            "DATA_GO_KR_SERVICE_KEY": DATA_KEY,
            "ECO2_KMA_BASE_URL": kma.base_url,
            "ECO2_MOIS_BASE_URL": mois.base_url,
            "KECO_API_KEY": fake_odcloud.VALID_KEY,
            "ECO2_ODCLOUD_BASE_URL": odcloud.base_url,
            "ECO2_CHARACTER_GRPC_ADDR": f"127.0.0.1:{character.port}",
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": router.base_url,
            "ECO2_LLM_PROVIDER": "offline",
            "ECO2_WEB_SEARCH": "openai",
        }
    character.stop(0)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(scope="module")
def workers(
    upstreams: dict[str, str], module_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = worker_env(module_redis_url, tmp_path_factory.mktemp("state"), **upstreams)
    logs = tmp_path_factory.mktemp("logs") / "worker.log"
    with Worker(env, pool=None, concurrency=None, launcher="eco2", log_path=logs):
        yield module_redis_url


@pytest.mark.parametrize(("intent", "message", "location", "subagent"), CASES, ids=[c[0] for c in CASES])
def test_each_intent_is_answered_by_its_real_subagent(
    workers: str, intent: str, message: str, location: dict[str, float] | None, subagent: str
) -> None:
    kwargs: dict[str, Any] = {"job_id": f"e2e-{intent}-{uuid.uuid4().hex[:6]}", "message": message}
    if location:
        kwargs["user_location"] = location
    Celery(broker=workers).send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    data = terminal(collect(redis.Redis.from_url(workers), kwargs["job_id"], timeout_s=90))
    assert data["_type"] == "done", data
    assert data["intent"] == intent
    assert data["subagents"][subagent] == "ok", data["subagents"]
    assert data["answer"].strip()
    assert OPENAI_KEY not in str(data)
    assert DATA_KEY not in str(data)
    if intent == "image_generation":
        assert data["image"]["kind"] in {"url", "file"}
    if intent in {"location", "web_search", "collection_point", "bulk_waste", "weather"}:
        assert any(s.get("url") for s in data["sources"]), data["sources"]


@pytest.mark.parametrize(
    ("intent", "message"), [("collection_point", "폐휴대폰 수거하는 곳 알려줘"), ("bulk_waste", "소파 버리고 싶어")]
)
def test_the_users_position_names_the_district_when_the_message_does_not(
    workers: str, intent: str, message: str
) -> None:
    job_id = f"e2e-where-{intent}-{uuid.uuid4().hex[:6]}"
    kwargs = {"job_id": job_id, "message": message, "user_location": {"latitude": 37.5006, "longitude": 127.0364}}
    Celery(broker=workers).send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    data = terminal(collect(redis.Redis.from_url(workers), job_id, timeout_s=90))
    assert data["_type"] == "done", data
    assert data["intent"] == intent
    assert data["subagents"][intent] == "ok", data["subagents"]
    assert "보내주신 위치(서울특별시 강남구 역삼동) 기준으로 찾았어요" in data["answer"]
    assert "서울특별시 강남구" in data["answer"]


def test_worker_log_never_shows_a_key(workers: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    for log in Path(tmp_path_factory.getbasetemp()).rglob("worker.log"):
        text = log.read_text(errors="replace")
        for key in (OPENAI_KEY, DATA_KEY, fake_kakao.KEY, fake_odcloud.VALID_KEY):
            assert key not in text


def _say(workers: str, session: str, message: str) -> dict[str, Any]:
    job_id = f"e2e-conv-{uuid.uuid4().hex[:8]}"
    kwargs = {"job_id": job_id, "message": message, "session_id": session}
    Celery(broker=workers).send_task("eco2.chat.process", kwargs=kwargs, queue="eco2.chat")
    data = terminal(collect(redis.Redis.from_url(workers), job_id, timeout_s=90))
    assert data["_type"] == "done", data
    return data


@pytest.mark.parametrize("reply", ["강남구", "강남구요", "역삼동이요"])
def test_a_reply_to_the_district_question_answers_the_original_question(workers: str, reply: str) -> None:
    session = f"conv-{uuid.uuid4().hex[:8]}"
    asked = _say(workers, session, "폐휴대폰 수거함 어디 있어?")
    assert asked["subagents"]["collection_point"] == "needs_input"
    assert "시·군·구" in asked["answer"]
    answered = _say(workers, session, reply)
    assert answered["intent"] == "collection_point"
    assert answered["subagents"]["collection_point"] == "ok", answered["subagents"]
    assert "서울특별시 강남구 폐휴대폰 수거 장소" in answered["answer"]


@pytest.mark.parametrize(
    ("first", "follow_up", "about"),
    [
        ("우유팩은 어떻게 버려?", "그거 씻어야 돼?", "[우유팩]"),
        ("유리병 어떻게 버려?", "그럼 뚜껑은?", "[금속 병뚜껑]"),
    ],
)
def test_a_follow_up_is_answered_about_what_the_conversation_is_about(
    workers: str, first: str, follow_up: str, about: str
) -> None:
    session = f"conv-{uuid.uuid4().hex[:8]}"
    _say(workers, session, first)
    answered = _say(workers, session, follow_up)
    assert answered["intent"] == "waste"
    assert answered["subagents"]["waste_rag"] == "ok"
    assert about in answered["answer"]
