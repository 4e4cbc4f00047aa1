"""The page cache's WSGI fast path (config.wsgi.application), driven like gunicorn
drives it: hits and 304s answered before Django, everything else handed over."""

import io
import json
from urllib.parse import unquote_to_bytes

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils.encoding import iri_to_uri

from config.wsgi import application
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def trusted_token(settings):
    from blog import page_cache

    settings.PAGE_CACHE_TOKEN_TTL = 60
    page_cache.memo.clear()
    yield
    page_cache.memo.clear()


@pytest.fixture(autouse=True)
def keep_test_connection():
    """As Django's test client does: the handler's request signals would otherwise
    close the connection that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def call(path="/", method="GET", **headers):
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        # As PEP 3333 servers pass it: the URL's bytes, percent-decoded, as latin-1.
        "PATH_INFO": unquote_to_bytes(iri_to_uri(path)).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    started = []
    body = b"".join(application(environ, lambda s, h, e=None: started.append((s, h))))
    status, header_list = started[0]
    return int(status[:3]), dict(header_list), body


def test_a_hit_is_answered_before_django_with_every_header(
    django_assert_num_queries, capfd, request_log_on
):
    PostFactory(title="Hello fast path")
    status, first, body = call()
    assert (status, first["X-Cache"]) == (200, "MISS")
    capfd.readouterr()
    with django_assert_num_queries(0):
        status, hit, cached = call(x_request_id="abc-123")
    assert (status, hit["X-Cache"], cached) == (200, "HIT", body)
    assert "Hello fast path" in cached.decode()
    assert hit["Content-Length"] == str(len(body))
    assert hit["X-Request-ID"] == "abc-123"
    per_request = {"X-Cache", "X-Request-ID"}
    assert {k: v for k, v in hit.items() if k not in per_request} == {
        k: v for k, v in first.items() if k not in per_request
    }
    assert "Content-Security-Policy" in hit
    assert "X-Content-Type-Options" in hit
    lines = capfd.readouterr().err.splitlines()
    logged = [json.loads(line) for line in lines if '"inkstone.request"' in line]
    assert [(r["status"], r["path"], r["request_id"]) for r in logged] == [
        (200, "/", "abc-123")
    ]


def test_revalidation_is_a_304_with_no_query(django_assert_num_queries):
    PostFactory()
    _, headers, _ = call()
    with django_assert_num_queries(0):
        status, revalidated, body = call(if_none_match=headers["ETag"])
    assert (status, body) == (304, b"")
    assert revalidated["ETag"] == headers["ETag"]
    # Accept-Language only when the language is negotiated (it is not by default).
    assert revalidated["Vary"] == "Cookie"


def test_a_publish_is_on_the_home_page_for_the_next_request():
    PostFactory(title="Old news")
    call()
    assert call()[1]["X-Cache"] == "HIT"
    PostFactory(title="Breaking news")
    status, headers, body = call()
    assert (status, headers["X-Cache"]) == (200, "MISS")
    assert "Breaking news" in body.decode()


def test_head_gets_the_headers_and_no_body():
    PostFactory()
    _, _, body = call()
    status, headers, head_body = call(method="HEAD")
    assert (status, headers["X-Cache"], head_body) == (200, "HIT", b"")
    assert headers["Content-Length"] == str(len(body))


def session_cookie() -> str:
    """A signed-in author's session cookie."""
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    return f"sessionid={client.cookies['sessionid'].value}"


def test_sessions_posts_and_bad_hosts_go_to_django():
    PostFactory()
    call()
    status, headers, _ = call(cookie=session_cookie())
    assert status == 200
    assert "X-Cache" not in headers
    assert headers["Cache-Control"] == "private, no-cache"
    # A made-up one goes to Django too, which finds no session and serves the cache.
    status, headers, _ = call(cookie="sessionid=abc")
    assert (status, headers["X-Cache"]) == (200, "HIT")
    status, headers, _ = call(method="POST")
    assert (status, "X-Cache" in headers) == (403, False)  # Django's CSRF check
    assert call(host="evil.example")[0] == 400


def test_each_url_and_language_has_its_own_entry():
    first = PostFactory(title="First post")
    PostFactory(title="Second post")
    call()
    status, headers, body = call(first.get_absolute_url())
    assert (status, headers["X-Cache"]) == (200, "MISS")
    assert "<h1" in body.decode() and "First post" in body.decode()
    assert call(reverse("blog:post_list") + "?page=1")[1]["X-Cache"] == "MISS"


def test_chinese_urls_are_cached_and_served():
    post = PostFactory(title="大模型中的幻觉问题")
    assert post.slug == "大模型中的幻觉问题"
    call()  # the process now trusts its token: the next miss passes the fast path
    status, headers, body = call(post.get_absolute_url())
    assert (status, headers["X-Cache"]) == (200, "MISS")
    status, headers, cached = call(post.get_absolute_url())
    assert (status, headers["X-Cache"], cached) == (200, "HIT", body)
    assert "大模型中的幻觉问题" in cached.decode()


def test_repeated_hits_are_answered_from_the_process_and_stay_exact(settings):
    from django.core.cache import caches

    from blog import page_cache

    PostFactory(title="Hot page")
    call()
    _, first, body = call(x_request_id="r1")
    assert len(page_cache.hot.current[1]) == 1
    # With the shared entry gone, the process still answers this token's page...
    caches[settings.PAGE_CACHE_ALIAS].clear()
    status, headers, cached = call(x_request_id="r1")
    assert (status, headers["X-Cache"], cached) == (200, "HIT", body)
    assert headers == first
    assert call(if_none_match=first["ETag"])[0] == 304
    # ...but a request that differs in anything that decides the answer is decided
    # again: another URL, host, cookie, scheme or (negotiated) language.
    assert call("/?page=1")[1]["X-Cache"] == "MISS"
    assert call(host="evil.example")[0] == 400
    assert call(cookie=session_cookie())[1]["Cache-Control"] == "private, no-cache"
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    call()
    assert call()[1]["X-Cache"] == "HIT"
    assert call(x_forwarded_proto="https")[1]["X-Cache"] == "MISS"
    settings.LANGUAGE_NEGOTIATION = True
    call(accept_language="en")
    assert call(accept_language="zh-hans")[1]["X-Cache"] == "MISS"


def test_a_publish_replaces_the_process_answers():
    from blog import page_cache

    PostFactory(title="Yesterday")
    call()
    call()
    PostFactory(title="Today")
    status, headers, body = call()
    assert (status, headers["X-Cache"]) == (200, "MISS")
    assert "Today" in body.decode()
    call()
    assert page_cache.hot.current[0] == page_cache.memo.peek()[0]
    assert len(page_cache.hot.current[1]) == 1


def test_the_process_answers_stay_within_their_memory_bound(monkeypatch):
    from blog import page_cache

    posts = PostFactory.create_batch(3)
    paths = [post.get_absolute_url() for post in posts]
    for path in paths:
        call(path)
    sizes = [len(call(path)[2]) for path in paths]
    monkeypatch.setattr(page_cache.hot, "max_bytes", sizes[0] + sizes[1] + 4096)
    page_cache.hot.clear()
    for path in paths:
        assert call(path)[1]["X-Cache"] == "HIT"
    assert page_cache.hot.size <= page_cache.hot.max_bytes
    assert len(page_cache.hot.current[1]) < 3


def test_only_an_exact_etag_is_answered_before_django_for_an_uncached_url():
    # The fast path knows the version but not whether the URL exists.
    PostFactory()
    call()
    status, _, _ = call(
        "/posts/nope/", if_modified_since="Thu, 01 Jan 2099 00:00:00 GMT"
    )
    assert status == 404
    status, _, _ = call("/posts/nope/", if_none_match="*")
    assert status == 404
    status, headers, _ = call()
    status, _, body = call(if_none_match=headers["ETag"])
    assert (status, body) == (304, b"")


def test_head_goes_out_without_a_body_and_still_finishes_the_request():
    # Django renders a HEAD's body anyway; gunicorn dropped it and logged a warning
    # for each one.
    PostFactory(title="Headless")
    status, headers, body = call(method="HEAD")
    assert (status, headers["X-Cache"], body) == (200, "MISS", b"")
    _, _, page = call()
    assert int(headers["Content-Length"]) == len(page)
    status, headers, body = call(method="HEAD")  # now from the fast path
    assert (status, headers["X-Cache"], body) == (200, "HIT", b"")

    finished = []

    def note(**kwargs):
        finished.append(kwargs)

    signals.request_finished.connect(note)
    try:
        environ = {
            "REQUEST_METHOD": "HEAD",
            "PATH_INFO": "/tags/",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": io.StringIO(),
        }
        response = application(environ, lambda *args: None)
        assert list(response) == []
        response.close()
    finally:
        signals.request_finished.disconnect(note)
    assert len(finished) == 1


def test_a_query_with_too_many_fields_goes_on_to_django(settings):
    # page_key reads the query: in FastPath, ahead of Django's error handling,
    # TooManyFieldsSent was a bare 500.
    PostFactory()
    call()
    call()
    query = "&".join(
        f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)
    )
    status, _, _ = call(f"/?{query}")
    assert status == 400
