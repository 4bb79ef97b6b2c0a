"""The character service over gRPC: ``character.v1.CharacterService``, its server, client and catalogue.

| module | role |
| --- | --- |
| ``proto/character/v1/character.proto`` | the contract; generated ``character_pb2*.py`` and ``.pyi`` beside it |
| ``catalogue.py`` | loads and validates ``eco2/data/characters/catalogue.yaml``; name and keyword lookup |
| ``server.py`` | the servicer, gRPC health, optional TLS, graceful stop (``eco2 character-server``) |
| ``client.py`` | deadlines, retries on UNAVAILABLE / DEADLINE_EXCEEDED only, the breaker, the error tree |
| ``embedded.py`` | without ``ECO2_CHARACTER_GRPC_ADDR``: the server on loopback in each process that asks |

Regenerate the Python code after editing the proto (repository root, dev extras installed; the
``--mypy*`` plugins come from ``mypy-protobuf`` and make the generated modules type-check under strict
mypy through their ``.pyi`` stubs)::

    PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m grpc_tools.protoc -I . \\
        --python_out=. --grpc_python_out=. --mypy_out=. --mypy_grpc_out=. \\
        eco2/adapters/grpc_character/proto/character/v1/character.proto

The include root is the repository root so that the generated imports are absolute
(``from eco2.adapters.grpc_character.proto.character.v1 import character_pb2``) and need no rewriting.
"""
