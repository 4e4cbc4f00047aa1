# syntax=docker/dockerfile:1
# Inkstone production image. `make container-check` replays these steps without Docker
# (scripts/container_check.py) and lints this file with hadolint.

FROM python:3.12-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies get their own layer: it is rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --only-binary=:all: -r requirements.lock

# The project itself, non-editable and with --no-deps: `pip check` then fails the
# build when requirements.lock no longer satisfies pyproject.toml (`make lock`). The
# app runs from /app below, beside its templates and static files.
COPY pyproject.toml README.md ./
COPY accounts ./accounts
COPY blog ./blog
COPY config ./config
RUN pip install --no-cache-dir --no-deps . && pip check


FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MEDIA_ROOT=/data/media

# No home directory: nothing at run time writes outside /data/media and /tmp.
RUN useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin inkstone \
    && mkdir -p /data/media \
    && chown inkstone:inkstone /data/media

COPY --from=builder /opt/venv /opt/venv

# The code stays owned by root: the app user can read it, never change it. Python
# imports it from here (the working directory), next to templates/ and static/.
WORKDIR /app
COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0 \
    && python -m compileall -q accounts blog config

USER 10001:10001
VOLUME ["/data/media"]
EXPOSE 8000

# Host and scheme as a proxy would send them, so ALLOWED_HOSTS and an HTTPS redirect
# answer 200 rather than 400 or 301.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; host = os.environ.get('DJANGO_ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('*.') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"]
