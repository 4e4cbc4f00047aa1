"""Project-wide middleware: request logging and extra security headers."""

import json
import logging
import time
import uuid

from django.conf import settings
from django.db import InterfaceError, OperationalError

request_log = logging.getLogger("inkstone.request")

QUIET_PATHS = ("/healthz", "/readyz")


class RequestLogMiddleware:
    """One JSON line per request; the request id is also returned as X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        request.id = (
            incoming
            if 0 < len(incoming) <= 64 and incoming.isprintable()
            else uuid.uuid4().hex
        )
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        if request.path not in QUIET_PATHS:
            request_log.info(
                "request",
                extra={
                    "request_id": request.id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "bytes": len(response.content) if not response.streaming else None,
                },
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

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
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
