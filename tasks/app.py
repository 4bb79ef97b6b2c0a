"""The Celery application (``celery -A tasks worker``)."""

from __future__ import annotations

import sys

from celery import Celery

from eco2 import logredact
from eco2.bootstrap import process_settings
from eco2.cli.worker import take_option
from tasks.celeryconfig import celery_config

logredact.install()  # before any HTTP library logs a request line with a key in it
app = Celery("eco2", include=["tasks.chat", "tasks.subagents", "tasks.signals"])
app.conf.update(celery_config(process_settings()))
# Celery's CLI lets a configured worker_pool win over an explicit "-P prefork" (that is its default value,
# so it cannot tell them apart): a pool named on the command line is the app's pool.
if "worker" in sys.argv:
    asked, _ = take_option(sys.argv[sys.argv.index("worker") :], "-P", "--pool")
    if asked:
        app.conf.worker_pool = asked
