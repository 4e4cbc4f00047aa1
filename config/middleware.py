"""Project-wide middleware: request logging, extra security headers, lazy messages."""

import contextlib
import functools
import json
import logging
import os
import random
import sys
import time

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.utils.functional import SimpleLazyObject, empty

request_log = logging.getLogger("inkstone.request")

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
STDERR = 2  # where logging's StreamHandler writes too (config/settings.py LOGGING)
# Started with fd 2 closed, the next file or socket opened would get it.
STDERR_OPEN = sys.__stderr__ is not None
# Escaped, the longest path and method keep a line under PIPE_BUF (4,096 bytes), which
# a pipe writes whole: lines from several threads and workers never interleave.
LOGGED_PATH_MAX = 500
LOGGED_METHOD_MAX = 16


def request_id(incoming: str) -> str:
    """The client's (or proxy's) X-Request-ID when it is sane, else a new one."""
    if 0 < len(incoming) <= 64 and incoming.isprintable():
        return incoming
    # 128 random bits, like uuid4().hex, without a getrandom() call a request: an id
    # must be unique, not secret. random reseeds itself in each forked worker.
    return f"{random.getrandbits(128):032x}"


_log_second: tuple[int, str] = (-1, "")


def log_time(created: float) -> str:
    """A log timestamp, formatted once a second (a request line a millisecond)."""
    global _log_second
    second = int(created)
    cached = _log_second
    if cached[0] != second:
        cached = _log_second = (
            second,
            time.strftime(TIME_FORMAT, time.localtime(second)),
        )
    return cached[1]


def log_request(rid: str, method: str, path: str, status: int, started, size) -> None:
    """One JSON line a request on stderr, in JsonFormatter's shape, written with one
    write(). Under load a line through logging's records, handler and lock cost
    more CPU than the rest of a cache hit. LOG_LEVEL=WARNING turns it off."""
    if not request_log.isEnabledFor(logging.INFO) or not STDERR_OPEN:
        return
    line = REQUEST_LINE.format(
        time=log_time(time.time()),
        rid=json_string(rid),
        method=json_string(method[:LOGGED_METHOD_MAX]),
        path=json_string(path[:LOGGED_PATH_MAX]),
        status=int(status),
        duration=round((time.perf_counter() - started) * 1000, 1),
        size="null" if size is None else int(size),
    )
    data = line.encode("utf-8", "backslashreplace")
    with contextlib.suppress(OSError):  # a lost log line must not fail the request
        while data and (written := os.write(STDERR, data)):
            data = data[written:]


# json.dumps of the whole line took three times as long as escaping its strings.
json_string = json.encoder.encode_basestring
REQUEST_LINE = (
    '{{"time": "{time}", "level": "INFO", "logger": "inkstone.request", '
    '"message": "request", "request_id": {rid}, "method": {method}, "path": {path}, '
    '"status": {status}, "duration_ms": {duration}, "bytes": {size}}}\n'
)


class RequestLogMiddleware:
    """One JSON line per request; the request id is also returned as X-Request-ID.
    Page-cache hits served ahead of Django (blog.page_cache.FastPath) log the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        # META, not request.headers, which copies every header of the request.
        request.id = request_id(request.META.get("HTTP_X_REQUEST_ID", ""))
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


@functools.cache
def content_security_policy() -> tuple[str, str]:
    """django-csp's Content-Security-Policy and its report-only variant, built from
    the settings once. django-csp's own middleware builds both on every response
    (3% of an article's CPU, uncached); Inkstone's policy never varies by request:
    no nonces, no per-view decorators, so responses stay cacheable."""
    # Directives in one order in every process (django-csp follows a set's).
    return tuple(
        "; ".join(sorted(policy.split("; ")))
        for policy in (build_policy(), build_policy(report_only=True))
    )


@receiver(setting_changed)
def forget_policy(**kwargs) -> None:
    content_security_policy.cache_clear()


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: the CSP and a few more."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        # Feed readers and other sites show the images of posts they embed.
        embeddable = request.path.startswith(settings.MEDIA_URL)
        response.setdefault(
            "Cross-Origin-Resource-Policy",
            "cross-origin" if embeddable else "same-origin",
        )
        # Django's debug pages style themselves inline.
        if not (settings.DEBUG and response.status_code in (404, 500)):
            policy, report_only = content_security_policy()
            if policy:
                response.setdefault(HEADER, policy)
            if report_only:
                response.setdefault(HEADER_REPORT_ONLY, report_only)
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's MessageMiddleware, making the message storage on first use. Reader
    pages never use it, and making it (a cookie and a session storage, a cookie
    signer) on every request was 1.8% of an uncached article's instructions."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)


class JsonFormatter(logging.Formatter):
    """Log records as one JSON object a line, with any `extra` fields included."""

    RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": log_time(record.created),
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


class SuspiciousRequestFilter(logging.Filter):
    """A refused Host header or path (django.security.*) is one short line: its
    traceback (several KB) says nothing the message does not, and anyone can send
    such requests as fast as they like."""

    max_message = 300

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security."):
            message = record.getMessage()
            if len(message) > self.max_message:
                message = message[: self.max_message] + "…"
            record.msg, record.args = message, None
            record.exc_info = record.exc_text = None
        return True


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


class HeadWithoutBody:
    """WSGI wrapper: a HEAD response goes out without the body Django still renders
    for it (gunicorn drops the bytes, with a warning in the log for each one)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        response = self.application(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return response
        return _Closing(response)


class _Closing:
    """No body, but the response is still closed (Django's request_finished)."""

    def __init__(self, response):
        self.response = response

    def __iter__(self):
        return iter(())

    def close(self) -> None:
        close = getattr(self.response, "close", None)
        if close is not None:
            close()
