"""The ``character`` slice: the subagent and the character service it asks, ``character.v1.CharacterService``.

| module | role |
| --- | --- |
| ``subagent.py`` | ``build(ctx)``: which character a message is about, the calls, the Korean summary |
| ``proto/character/v1/character.proto`` | the contract; generated ``character_pb2*.py`` and ``.pyi`` beside it |
| ``catalogue.py`` | loads and validates ``eco2/data/characters/catalogue.yaml``; name and keyword lookup |
| ``server.py`` | the servicer, gRPC health, optional TLS, graceful stop (``eco2 character-server``) |
| ``client.py`` | deadlines, retries on UNAVAILABLE / DEADLINE_EXCEEDED only, the breaker, the error tree |
| ``embedded.py`` | without ``ECO2_CHARACTER_GRPC_ADDR``: the server on loopback in each process that asks |

The service is this subagent's upstream and nothing else uses it, so it lives here rather than in
``eco2.adapters``; the breakers it goes through are shared (``eco2.adapters.resilience``).

Regenerate the Python code after editing the proto (repository root, dev extras installed; the
``--mypy*`` plugins come from ``mypy-protobuf`` and make the generated modules type-check under strict
mypy through their ``.pyi`` stubs)::

    PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m grpc_tools.protoc -I . \\
        --python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. \\
        eco2/subagents/character/proto/character/v1/character.proto

The include root is the repository root so that the generated imports are absolute
(``from eco2.subagents.character.proto.character.v1 import character_pb2``) and need no rewriting.
"""

from __future__ import annotations

from eco2.subagents.character.subagent import CharacterSubagent, build

__all__ = ["CharacterSubagent", "build"]
