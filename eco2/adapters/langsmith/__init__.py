"""LangSmith: the run-config functions (light) and the telemetry adapter (``adapter``, imports langsmith).

Import the adapter module only when tracing is on; the functions here decide that without loading langsmith.
"""

from eco2.adapters.langsmith.run_config import (
    TracingMode,
    configure_langsmith,
    get_run_config,
    is_langsmith_enabled,
    tracing_mode,
)

__all__ = ["TracingMode", "configure_langsmith", "get_run_config", "is_langsmith_enabled", "tracing_mode"]
