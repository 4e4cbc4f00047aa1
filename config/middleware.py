"""Project-wide middleware: request logging and extra security headers."""

import json
import logging
import random
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError

request_log = logging.getLogger("inkstone.request")

QUIET_PATHS = ("/healthz", "/readyz")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def request_id(incoming: str) -> str:
    """The client's (or proxy's) X-Request-ID when it is sane, else a new one."""
    if 0 < len(incoming) <= 64 and incoming.isprintable():
        return incoming
    # 128 random bits, like uuid4().hex, without a getrandom() call a request: an id
    # must be unique, not secret. random reseeds itself in each forked worker.
    return f"{random.getrandbits(128):032x}"


def log_request(rid: str, method: str, path: str, status: int, started, size) -> None:
    if path in QUIET_PATHS:
        return
    request_log.info(
        "request",
        extra={
            "request_id": rid,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "bytes": size,
        },
    )


class RequestLogMiddleware:
    """One JSON line per request; the request id is also returned as X-Request-ID.
    Page-cache hits served ahead of Django (blog.page_cache.FastPath) log the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request.id = request_id(request.headers.get("X-Request-ID", ""))
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        size = None if response.streaming else len(response.content)
        log_request(
            request.id,
            request.method,
            request.path,
            response.status_code,
            started,
            size,
        )
        return response


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object a line, with any `extra` fields included."""

    RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
    # A request line a millisecond: the time is formatted once a second.
    _second: tuple[int, str] = (-1, "")

    def time_of(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, self.formatTime(record, TIME_FORMAT))
        return cached[1]

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.time_of(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(
            {
                k: v
                for k, v in vars(record).items()
                if k not in self.RESERVED and not k.startswith("_")
            }
        )
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class OutageLogFilter(logging.Filter):
    """During a database outage every request fails the same way: log the error with
    its traceback once a minute, not once a request."""

    interval = 60.0
    last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, (OperationalError, InterfaceError)):
            return True
        now = time.monotonic()
        if now - OutageLogFilter.last < self.interval:
            return False
        OutageLogFilter.last = now
        return True
