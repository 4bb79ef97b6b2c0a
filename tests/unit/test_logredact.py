"""No credential reaches a log line, at any level, whichever HTTP library writes it (issue 12, item 13)."""

from __future__ import annotations

import logging

import httpx
import pytest

from eco2 import logredact
from tests.support.openai_server import FakeOpenAI

SECRET = "Zx9PlainKey0123456789"


@pytest.mark.parametrize(
    "line",
    [
        f'http://127.0.0.1:9 "GET /getVilageFcst?serviceKey={SECRET}&pageNo=1 HTTP/1.1" 200 13',
        f"GET /info?pageNo=1&ServiceKey={SECRET}%3D%3D&returnType=json",
        f"https://x/y?api_key={SECRET}",
        f"https://x/y?serviceKey%3D{SECRET}",
        f"headers={{'Authorization': 'Bearer {SECRET}'}}",
        f"authorization: KakaoAK {SECRET}",
    ],
)
def test_credentials_in_request_lines_and_headers_are_replaced(line: str) -> None:
    cleaned = logredact.redact(line)
    assert SECRET not in cleaned
    assert logredact.REDACTED in cleaned


def test_lines_without_credentials_are_left_alone() -> None:
    line = 'http://127.0.0.1:9 "GET /v2/local/search/keyword.json?query=재활용센터&page=1 HTTP/1.1" 200 13'
    assert logredact.redact(line) == line


def test_httpx_request_lines_are_scrubbed_at_info(caplog: pytest.LogCaptureFixture) -> None:
    logredact.install()
    with FakeOpenAI() as server, caplog.at_level(logging.DEBUG):
        httpx.get(server.base_url + f"/models?key={SECRET}", headers={"Authorization": f"Bearer {SECRET}"})
    assert any(r.name == "httpx" for r in caplog.records)  # the library did log the request line
    assert SECRET not in caplog.text
