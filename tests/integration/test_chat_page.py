"""The gateway's chat page in a real headless browser (Debian's chromium and chromedriver, via Selenium):
it sends a chat, watches the answer stream to `done`, keeps its session for the next message. A screenshot
of the page is kept in test-artifacts/ (issue 13)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eco2.localrun import GatewayServer, Worker
from tests.conftest import worker_env

pytestmark = [pytest.mark.redis, pytest.mark.workers]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("ECO2_TEST_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromium-driver are not installed")
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1000,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def page(worker: Worker, module_redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = worker_env(module_redis_url, tmp_path_factory.mktemp("gw"))
    with GatewayServer(env, log_path=tmp_path_factory.mktemp("gwlog") / "gateway.log") as server:
        yield server.url


def send(driver: Any, text: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    before = len(driver.find_elements(By.CSS_SELECTOR, ".turn"))
    box = driver.find_element(By.ID, "message")
    box.send_keys(text)
    driver.find_element(By.ID, "send").click()
    WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".turn")) > before)
    turn = driver.find_elements(By.CSS_SELECTOR, ".turn")[-1]
    WebDriverWait(driver, 60).until(lambda _d: turn.get_attribute("data-status") in ("done", "error"))
    return turn


def test_the_chat_page_streams_an_answer_to_done_and_keeps_its_session(browser: Any, page: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page)
    assert "Eco²" in browser.title
    first = send(browser, "페트병 어떻게 버려?")
    assert first.get_attribute("data-status") == "done"
    assert first.get_attribute("data-job").startswith("gw-")
    answer = first.find_element(By.CSS_SELECTOR, ".answer").text
    assert "페트병" in answer
    stages = first.find_element(By.CSS_SELECTOR, ".stages").text
    assert "intent:started" in stages
    assert "done (waste)" in stages
    session = browser.find_element(By.ID, "session").get_attribute("textContent")
    assert session.startswith("web-")
    second = send(browser, "그럼 캔은?")
    assert second.get_attribute("data-status") == "done"
    assert browser.find_element(By.ID, "session").get_attribute("textContent") == session  # one conversation
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "chat-page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
