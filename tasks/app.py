"""The Celery application (``celery -A tasks worker``)."""

from __future__ import annotations

from celery import Celery

from eco2.config import Settings
from tasks.celeryconfig import celery_config

app = Celery("eco2", include=["tasks.chat", "tasks.subagents", "tasks.signals"])
app.conf.update(celery_config(Settings.from_env()))
