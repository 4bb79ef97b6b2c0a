"""The ``web_search`` slice: what the web says, for questions eco2's own data does not cover.

| module | role |
| --- | --- |
| ``subagent.py`` | ``build(ctx)``: the backend ``ECO2_WEB_SEARCH`` picks, and the Korean summary with sources |
| ``openai_search.py`` | OpenAI's Responses API with its hosted ``web_search`` tool (``OpenAIWebSearch``) |
| ``ddgs_search.py`` | metasearch through the ``ddgs`` library (``DdgsWebSearch``, opt-in) |
| ``text.py`` | snippet and site helpers both clients and the summary share |

The OpenAI error translation both OpenAI callers share stays in ``eco2.adapters.openai``.
"""

from __future__ import annotations

from eco2.subagents.web_search.subagent import DdgsSearchSubagent, OpenAISearchSubagent, build

__all__ = ["DdgsSearchSubagent", "OpenAISearchSubagent", "build"]
