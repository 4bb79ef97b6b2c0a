"""The ``general`` slice: small talk and general knowledge from the bundled FAQ (``subagent.py``).

The FAQ itself is data (``eco2/data/general_faq.yaml``); loading and matching it live in ``subagent.py``.
"""

from __future__ import annotations

from eco2.subagents.general.subagent import FaqGeneral, build

__all__ = ["FaqGeneral", "build"]
