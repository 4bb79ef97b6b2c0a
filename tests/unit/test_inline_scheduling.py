"""In process (``--inline``), an ended job's deadline timer goes at once, and the container releases its
pool and timers when closed: a long-running process (or a test run) does not collect them."""

from __future__ import annotations

import threading
import uuid

from eco2.bootstrap import bootstrap_inline
from eco2.config import Settings
from eco2.dispatch.inline import InlineDeadlines


def _deadlines(container: object) -> InlineDeadlines:
    scheduling = container.scheduling  # type: ignore[attr-defined]
    assert isinstance(scheduling.deadlines, InlineDeadlines)
    return scheduling.deadlines


def test_an_ended_jobs_timer_is_cancelled_and_close_releases_the_rest() -> None:
    container, _ = bootstrap_inline(Settings.from_env({"ECO2_LLM_PROVIDER": "offline"}))
    timers = {t for t in threading.enumerate() if isinstance(t, threading.Timer)}
    for _ in range(3):
        assert container.service.accept((), {"job_id": uuid.uuid4().hex, "message": "페트병 어떻게 버려?"}) == "started"
    assert _deadlines(container)._timers == {}  # each job ended and took its timer with it
    container.close()
    for left in threading.enumerate():
        if isinstance(left, threading.Timer) and left not in timers:
            left.join(timeout=2)  # a cancelled timer's thread ends a moment later
    # no timer per job left waiting out the job timeout (120 s, each holding the whole container)
    assert {t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()} <= timers


def test_close_cancels_a_running_jobs_timer() -> None:
    container, _ = bootstrap_inline(Settings.from_env({"ECO2_LLM_PROVIDER": "offline"}))
    from eco2.ports.dispatch import JobRef

    deadlines = _deadlines(container)
    deadlines.schedule_deadline(JobRef("open", "job:open"), 60)
    (timer,) = deadlines._timers.values()
    container.close()
    timer.join(timeout=2)
    assert not timer.is_alive()
