"""Whole-page cache and conditional GET for anonymous readers.

Every reader page is a function of the content version (bumped by database triggers
on any change, see ContentVersion) and of the newest post already visible (which moves
when a scheduled post goes live). One tiny query reads both; the ETag, the
Last-Modified date and the cache key all derive from that token, so:

- a revalidation costs that query and answers 304 before any view runs;
- a cached page is looked up before sessions, auth and the view machinery run, and
  while a process trusts its memoized token (until PostgreSQL notifies it of a
  change, see blog.change_listener), hits and 304s are answered by FastPath, a WSGI
  wrapper, before Django handles the request at all, from this process's own copy of
  the answer once it has served it;
- invalidation is exact and needs no deletes: a new token simply misses the old
  entries, which expire on their own. This holds across replicas sharing Redis.

Requests that carry a session cookie (authors, staff) bypass all of this.
"""

import functools
import hashlib
import logging
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.client import responses
from importlib import import_module
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.core.exceptions import DisallowedHost, SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.db import DatabaseError, connection
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from config.middleware import log_request, request_id

from . import markdown
from .change_listener import ChangeListener
from .pagination import parameters_read, reader_query

logger = logging.getLogger("inkstone.cache")

TOKEN_SQL = """
SELECT v.version, v.changed_at,
       (SELECT max(p.published_at) FROM blog_post p
         WHERE p.status = 'published' AND p.published_at <= %s),
       (SELECT min(p.published_at) FROM blog_post p
         WHERE p.status = 'published' AND p.published_at > %s)
FROM (SELECT 1) AS one LEFT JOIN blog_contentversion v ON v.id = 1
"""

# Set on every response from the token and settings, so not stored with the page.
STAMPED_HEADERS = frozenset(
    ("etag", "last-modified", "cache-control", "x-cache", "content-length")
)


def vary_on() -> tuple[str, ...]:
    """A page depends on the session cookie (staff bypass the cache), and on
    Accept-Language only when the language is negotiated: otherwise the header would
    split shared caches for nothing."""
    if settings.LANGUAGE_NEGOTIATION:
        return ("Accept-Language", "Cookie")
    return ("Cookie",)


def _build_id() -> str:
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    try:
        stamp = hashlib.sha256(manifest.read_bytes()).hexdigest()[:12]
    except OSError:
        stamp = "nostatic"
    return f"{stamp}.r{markdown.RENDERER_VERSION}"


BUILD_ID = _build_id()


def _read_token() -> tuple[str, datetime, datetime | None]:
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_SQL, [now, now])
        version, changed_at, newest_visible, next_scheduled = cursor.fetchone()
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    changed_at = changed_at or epoch
    newest_visible = newest_visible or epoch
    token = f"{version or 0}.{changed_at.timestamp()}.{newest_visible.timestamp()}"
    return token, max(changed_at, newest_visible), next_scheduled


class _TokenMemo:
    """The token, remembered so that cache hits cost no database round trip. A save
    in this process forgets it at once (signals below), a change committed anywhere
    else as soon as PostgreSQL notifies this process (blog.change_listener), and a
    scheduled post still goes live on the second, because the memo ends at the next
    one. While the listener is down, the token is trusted for PAGE_CACHE_TOKEN_TTL
    seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.value: tuple[str, datetime] | None = None
        self.until = 0.0
        self.next_scheduled: datetime | None = None
        self.listened: tuple[float, int] | None = None

    def peek(self) -> tuple[str, datetime] | None:
        """The memoized token while it may still be trusted, without the database."""
        with self.lock:
            value, until, listened = self.value, self.until, self.listened
            if value is None or (
                self.next_scheduled is not None
                and timezone.now() >= self.next_scheduled
            ):
                return None
        if listened is not None:
            return value if listener.vouches(listened) else None
        return value if time.monotonic() < until else None

    def get(self) -> tuple[str, datetime]:
        value = self.peek()
        if value is not None:
            return value
        listened = None
        if settings.PAGE_CACHE_LISTEN:
            listener.start()
            listened = listener.state()
        token, last_modified, next_scheduled = _read_token()
        with self.lock:
            self.value = (token, last_modified)
            self.until = time.monotonic() + settings.PAGE_CACHE_TOKEN_TTL
            self.next_scheduled = next_scheduled
            self.listened = listened
        return token, last_modified


memo = _TokenMemo()
listener = ChangeListener(on_change=memo.clear)


def content_token() -> tuple[str, datetime]:
    """(token, last modification) of everything readers can see right now."""
    return memo.get()


@receiver(post_save)
@receiver(post_delete)
@receiver(m2m_changed)
def forget_token(**kwargs) -> None:
    memo.clear()


class _Degraded:
    """After a cache-backend failure, skip the cache for a few seconds (no timeout on
    every request) and log at most one warning an interval, not one a request."""

    log_interval = 60.0
    retry_after = 5.0
    last_log = 0.0
    skip_until = 0.0

    @property
    def active(self) -> bool:
        return time.monotonic() < self.skip_until

    def warn(self, what: str, error: Exception) -> None:
        now = time.monotonic()
        self.skip_until = now + self.retry_after
        if now - self.last_log >= self.log_interval:
            self.last_log = now
            logger.warning("%s failed, serving without the cache: %r", what, error)


degraded = _Degraded()


def is_cacheable_request(request, *, sessions_checked: bool = False) -> bool:
    """Whether the page cache may answer this request. A session cookie means a
    signed-in author, who sees drafts and fresh pages; with `sessions_checked`
    (Django's side, with the database at hand) only a live one does: a made-up
    cookie forced a full render of any page for anyone who sent it."""
    if request.method not in ("GET", "HEAD"):
        return False
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session_key is not None and (not sessions_checked or signed_in(session_key)):
        return False
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return False  # SecurityMiddleware redirects it
    if request.path_info.startswith(settings.PAGE_CACHE_EXCLUDED_PREFIXES):
        return False
    try:
        request.get_host()
    except DisallowedHost:
        return False  # CommonMiddleware answers 400
    return True


def signed_in(session_key: str) -> bool:
    """Whether a session cookie names a live, signed-in session (one query)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        return SESSION_KEY in store.load()
    except DatabaseError:  # an outage: the request goes on to answer 503
        return True


def request_language(request) -> str:
    if settings.LANGUAGE_NEGOTIATION:
        return translation.get_language_from_request(request)
    return settings.LANGUAGE_CODE


def page_key(request, token: str, language: str) -> str:
    # The path as decoded: get_full_path() would quote it again, to the same effect
    # for a key (with reading request headers from META, 3.7% of a cold article's
    # instructions). Only the parameters the page reads: one entry for "?utm_source=…"
    # and for a million "?r=N" (the feed is 0.4 MB).
    query = reader_query(request) if request.META.get("QUERY_STRING") else ""
    raw = f"{BUILD_ID}|{token}|{language}|{request.scheme}|{request.path}?{query}"
    return "page:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def etag_of(key: str) -> str:
    return '"' + key.rsplit(":", 1)[1][:32] + '"'


def is_not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etag: str,
    last_modified: datetime,
    *,
    exists: bool,
) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it.
    `exists`: the URL is known to answer 200 under this version (its page is cached
    or was just rendered). Without that, only the exact ETag can be trusted, since
    only that page was ever sent it: "*" or a date would make a 304 of a 404."""
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or ("*" in tags and exists)
    if if_modified_since and exists:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return (
            since.tzinfo is not None
            and int(last_modified.timestamp()) <= since.timestamp()
        )
    return False


def validator_headers(etag: str, last_modified: datetime) -> dict[str, str]:
    return {
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        "Cache-Control": cache_control(),
    }


def cache_get(key: str):
    """(status, headers, content) stored for `key`, or None."""
    if degraded.active or not settings.PAGE_CACHE_ENABLED:
        return None
    try:
        return caches[settings.PAGE_CACHE_ALIAS].get(key)
    except Exception as error:  # any backend failure is a miss
        degraded.warn("page cache read", error)
        return None


# Both change with the content version or the settings, not from request to request.
@functools.lru_cache(maxsize=8)
def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


@functools.cache
def cache_control() -> str:
    return (
        f"public, max-age={settings.PAGE_CACHE_MAX_AGE}, "
        f"s-maxage={settings.PAGE_CACHE_S_MAXAGE}, "
        f"stale-while-revalidate={settings.PAGE_CACHE_STALE_WHILE_REVALIDATE}"
    )


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.last_token: tuple[str, datetime] | None = None

    def __call__(self, request):
        if not is_cacheable_request(request, sessions_checked=True):
            response = self.get_response(request)
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                response.setdefault("Cache-Control", "private, no-cache")
            return response

        language = request_language(request)
        try:
            token, last_modified = content_token()
            self.last_token = (token, last_modified)
            request.content_token = token
        except DatabaseError:
            # Outage: serve what the cache holds for the last token we saw.
            if self.last_token is None:
                raise
            token, last_modified = self.last_token
            cached = cache_get(page_key(request, token, language))
            if cached is None:
                raise
            return self._from_cache(cached, stale=True)

        key = page_key(request, token, language)
        etag = etag_of(key)
        conditions = (
            request.META.get("HTTP_IF_NONE_MATCH"),
            request.META.get("HTTP_IF_MODIFIED_SINCE"),
            etag,
            last_modified,
        )
        if is_not_modified(*conditions, exists=False):
            return self._not_modified(etag, last_modified)

        cached = cache_get(key)
        if cached is not None:
            if is_not_modified(*conditions, exists=True):
                return self._not_modified(etag, last_modified)
            response = self._from_cache(cached)
            self._stamp(response, etag, last_modified)
            return response

        response = self.get_response(request)
        if self._storable(response):
            self._stamp(response, etag, last_modified)
            self._cache_set(key, response)
            if is_not_modified(*conditions, exists=True):
                return self._not_modified(etag, last_modified)
            response["X-Cache"] = "MISS"
        return response

    @classmethod
    def _not_modified(cls, etag: str, last_modified: datetime) -> HttpResponse:
        response = HttpResponseNotModified()
        cls._stamp(response, etag, last_modified)
        return response

    @staticmethod
    def _stamp(response, etag: str, last_modified: datetime) -> None:
        for name, value in validator_headers(etag, last_modified).items():
            response[name] = value
        patch_vary_headers(response, vary_on())

    @staticmethod
    def _storable(response) -> bool:
        return (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and "no-store" not in response.get("Cache-Control", "")
            and "private" not in response.get("Cache-Control", "")
        )

    @staticmethod
    def _from_cache(cached: tuple, stale: bool = False) -> HttpResponse:
        status, headers, content = cached
        response = HttpResponse(content, status=status)
        for name, value in headers.items():
            response[name] = value
        response["X-Cache"] = "STALE" if stale else "HIT"
        return response

    @staticmethod
    def _cache_set(key: str, response) -> None:
        if degraded.active or not settings.PAGE_CACHE_ENABLED:
            return
        headers = {
            name: value
            for name, value in response.items()
            if name.lower() not in STAMPED_HEADERS
        }
        entry = (response.status_code, headers, response.content)
        try:
            caches[settings.PAGE_CACHE_ALIAS].set(
                key, entry, settings.PAGE_CACHE_SECONDS
            )
        except Exception as error:  # any backend failure: serve uncached
            degraded.warn("page cache write", error)


class Answer(NamedTuple):
    """What FastPath answers a request with under one token."""

    path: str  # for the request log
    etag: str
    last_modified: datetime
    not_modified: list[tuple[str, str]]  # the headers of a 304
    status: str
    headers: list[tuple[str, str]]
    content: bytes | None


def decisive_fields() -> tuple[str, ...]:
    """The request fields that decide an Answer: what is_cacheable_request,
    request_language and page_key read. If-None-Match and If-Modified-Since are
    checked on every request."""
    fields = DECISIVE_FIELDS
    if settings.SECURE_PROXY_SSL_HEADER:
        fields += (settings.SECURE_PROXY_SSL_HEADER[0],)
    return fields


DECISIVE_FIELDS = (
    "wsgi.url_scheme",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_HOST",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_COOKIE",
    "HTTP_ACCEPT_LANGUAGE",
)


class _HotAnswers:
    """This process's answers for the current token, keyed on the decisive fields,
    so a repeated hit skips parsing the request, hashing its key and unpickling the
    page. Entries are copies of shared-cache entries for the same token, so they are
    exactly as fresh; a new token (or any settings change, in tests) empties it."""

    max_bytes = 16 * 1024 * 1024

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        # (token, answers) is swapped as one, so no thread reads one token's
        # answers under another token.
        self.current: tuple[str | None, dict[tuple, Answer]] = (None, {})
        self.size = 0

    def get(self, token: str, fields: tuple) -> Answer | None:
        current, answers = self.current
        return answers.get(fields) if token == current else None

    def put(self, token: str, fields: tuple, answer: Answer) -> None:
        size = len(answer.content) + 1024
        with self.lock:
            current, answers = self.current
            if token != current or self.size + size > self.max_bytes:
                answers, self.size = {}, 0
                self.current = (token, answers)
            answers[fields] = answer
            self.size += size


hot = _HotAnswers()


@receiver(setting_changed)
def forget_answers(**kwargs) -> None:
    hot.clear()
    parameters_read.cache_clear()
    cache_control.cache_clear()


class FastPath:
    """WSGI wrapper that answers cache hits and 304s before Django handles the
    request (no signals, middleware, URL resolving or response objects): the bulk of
    a burst. Anything it is unsure of (no trusted token in this process, a miss, a
    session cookie) goes to Django, whose PageCacheMiddleware applies the same
    rules with the database at hand."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or not settings.PAGE_CACHE_ENABLED:
            return self.application(environ, start_response)
        memoized = memo.peek()
        if memoized is None:
            return self.application(environ, start_response)
        token = memoized[0]
        fields = tuple(map(environ.get, decisive_fields()))
        answer = hot.get(token, fields)
        if answer is None:
            answer = self._resolve(environ, memoized)
            if answer is None:
                return self.application(environ, start_response)
            if answer.content is not None:
                hot.put(token, fields, answer)
        if is_not_modified(
            environ.get("HTTP_IF_NONE_MATCH"),
            environ.get("HTTP_IF_MODIFIED_SINCE"),
            answer.etag,
            answer.last_modified,
            exists=answer.content is not None,
        ):
            status, headers, content = "304 Not Modified", answer.not_modified, b""
        elif answer.content is None:
            return self.application(environ, start_response)
        else:
            status, headers, content = answer.status, answer.headers, answer.content
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(status, [*headers, ("X-Request-ID", rid)])
        log_request(rid, method, answer.path, int(status[:3]), started, len(content))
        return [b"" if method == "HEAD" else content]

    @staticmethod
    def _resolve(environ, memoized: tuple[str, datetime]) -> Answer | None:
        """The Answer for this request, the slow way; its content is None when the
        shared cache does not hold the page (only a 304 can be answered then)."""
        # A copy: WSGIRequest writes the decoded path back into the environ it gets,
        # and Django must still find the raw one if the request goes on to it.
        request = WSGIRequest(environ.copy())
        if not is_cacheable_request(request):
            return None
        token, last_modified = memoized
        try:
            key = page_key(request, token, request_language(request))
        except SuspiciousOperation:  # e.g. too many fields: Django answers 400
            return None
        etag = etag_of(key)
        stamps = list(validator_headers(etag, last_modified).items())
        not_modified = [*stamps, ("Vary", ", ".join(vary_on()))]
        cached = cache_get(key)
        if cached is None:
            return Answer(request.path, etag, last_modified, not_modified, "", [], None)
        status, stored, content = cached
        headers = [*stored.items(), *stamps, ("X-Cache", "HIT")]
        headers.append(("Content-Length", str(len(content))))
        reason = responses.get(status, "OK")
        return Answer(
            request.path,
            etag,
            last_modified,
            not_modified,
            f"{status} {reason}",
            headers,
            content,
        )
