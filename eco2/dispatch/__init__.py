"""Dispatchers: how subagent rounds are scheduled (a Celery chord, or in-process for ``--inline``)."""
