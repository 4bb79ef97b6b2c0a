# syntax=docker/dockerfile:1
#
# One image for every eco2 process: the worker pools (`eco2 worker ...`), Flower
# (`celery -A tasks flower --conf=/app/flower.conf`) and the character service (`eco2 character-server`).
# The Helm chart (helm/eco2) passes the command as container args; tini stays PID 1 and forwards signals.
#
#   docker build -t eco2:0.1.0 .
#
# Runs as UID/GID 10001 on a read-only root filesystem: the writable paths are /tmp, the state directory
# /var/lib/eco2 and the metrics directory, all emptyDir volumes in the chart.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: a virtualenv with eco2 installed from this repository (not editable) ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/eco2
WORKDIR /src
COPY setup.cfg setup.py README.md ./
COPY eco2 ./eco2
COPY tasks ./tasks
# postgres: the shared LangGraph checkpointer Kubernetes needs; flower: the Flower deployment.
# pip compiles the bytecode here, so the read-only image never needs to write .pyc files.
RUN /opt/eco2/bin/pip install ".[postgres,flower]"

# ---- runtime: the virtualenv, flower.conf, tini and an unprivileged user; no compiler, no pip cache ----
FROM ${PYTHON_IMAGE}
# tini reaps zombies and forwards SIGTERM to the worker, whose cold shutdown requeues unfinished tasks.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 eco2 \
 && useradd --system --uid 10001 --gid eco2 --home-dir /home/eco2 --create-home --shell /usr/sbin/nologin eco2 \
 && install -d -o eco2 -g eco2 /var/lib/eco2 /run/eco2/metrics
COPY --from=build /opt/eco2 /opt/eco2
COPY flower.conf /app/flower.conf
ENV PATH=/opt/eco2/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ECO2_STATE_DIR=/var/lib/eco2 \
    XDG_CACHE_HOME=/tmp/.cache
WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# 9191 worker metrics, 5555 Flower, 50051 the character service (gRPC).
EXPOSE 9191 5555 50051
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["eco2", "worker"]
