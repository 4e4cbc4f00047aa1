import io
import json
import logging
import time
from datetime import datetime

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse

from config.middleware import SuspiciousRequestFilter
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

HTTPS = {"HTTP_X_FORWARDED_PROTO": "https"}


@pytest.fixture
def behind_https_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 63072000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


@pytest.fixture
def database_down():
    """Point the real connection at a port where nothing listens."""
    connection.close()
    original = dict(connection.settings_dict)
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = "9"
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(original)


def test_healthz_needs_no_database(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert (
        "no-cache" in response["Cache-Control"]
        or "max-age=0" in response["Cache-Control"]
    )


def test_readyz_ok_when_database_and_migrations_are_there(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_reports_database_outage_quickly(client, database_down, caplog):
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "database" in response.json()["reason"]
    # A probe every few seconds during an outage logged an error each time.
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_probes_answer_any_host_over_plain_http(
    client, settings, capfd, request_log_on
):
    # Orchestrators probe with the address they reach (a pod's IP) as Host.
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz"):
        response = client.get(path, HTTP_HOST="10.0.0.5:8000")
        assert response.status_code == 200, path
    assert client.get("/", HTTP_HOST="10.0.0.5:8000").status_code == 400
    logged = capfd.readouterr().err
    assert '"path": "/"' in logged
    assert '"/healthz"' not in logged and '"/readyz"' not in logged


def test_reader_pages_answer_503_with_retry_after_when_database_is_down(
    client, database_down
):
    client.raise_request_exception = False
    started = time.monotonic()
    response = client.get(reverse("blog:post_list"))
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "Temporarily unavailable" in response.content.decode()


def test_cached_pages_are_served_during_a_database_outage(client):
    PostFactory(title="Survives outages")
    client.get(reverse("blog:post_list"))
    connection.close()
    original = dict(connection.settings_dict)
    connection.settings_dict["PORT"] = "9"
    connection.settings_dict["HOST"] = "127.0.0.1"
    try:
        response = client.get(reverse("blog:post_list"))
    finally:
        connection.close()
        connection.settings_dict.update(original)
    assert response.status_code == 200
    assert response["X-Cache"] == "STALE"
    assert "Survives outages" in response.content.decode()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate_backend(pid: int) -> None:
    """Close a connection from the server's side, as a restart does."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            gone = other.execute(
                "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s)", [pid]
            ).fetchone()[0]
            if gone:
                return
            time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_requests_reuse_a_connection_and_replace_one_the_server_closed(client):
    """The health check of a reused connection (config/postgresql): kept while the
    server has not closed it, replaced before a request uses it once it has."""
    post = PostFactory()
    first = backend_pid()
    close_old_connections()  # the end of a request, as in production
    assert client.get(post.get_absolute_url()).status_code == 200
    assert backend_pid() == first
    terminate_backend(first)
    close_old_connections()
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    assert post.title in response.content.decode()
    assert backend_pid() != first


def test_security_headers_on_every_kind_of_page(
    client, staff_client, behind_https_proxy
):
    post = PostFactory()
    anonymous_urls = [
        reverse("blog:post_list"),
        post.get_absolute_url(),
        reverse("blog:post_search") + "?q=x",
        reverse("feed_atom"),
        "/nope/",
        reverse("admin:login"),
    ]
    for url in anonymous_urls:
        check_observatory_headers(client.get(url, **HTTPS), url)
    check_observatory_headers(
        staff_client.get(reverse("admin:blog_post_add"), **HTTPS), "admin"
    )


def test_uploads_served_by_the_app_may_be_embedded_elsewhere(client, settings):
    # Feeds link post images absolutely; a web feed reader shows them from its host.
    upload = settings.MEDIA_ROOT / "uploads" / "figure.webp"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"RIFF\x00\x00\x00\x00WEBP")
    response = client.get(settings.MEDIA_URL + "uploads/figure.webp")
    assert response.status_code == 200
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert client.get("/")["Cross-Origin-Resource-Policy"] == "same-origin"


def directives(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")}


def test_content_security_policy_follows_the_settings(client, settings):
    settings.PAGE_CACHE_ENABLED = False
    PostFactory()
    url = reverse("blog:post_list")
    response = client.get(url)
    assert "img-src 'self' data:" in directives(response["Content-Security-Policy"])
    assert "Content-Security-Policy-Report-Only" not in response
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'self'"], "img-src": ["'self'", "cdn.test"]}
    }
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": ["'none'"]}
    }
    response = client.get(url)
    assert directives(response["Content-Security-Policy"]) == {
        "default-src 'self'",
        "img-src 'self' cdn.test",
    }
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'none'"


def test_debug_error_pages_keep_their_inline_styles(client, settings):
    settings.DEBUG = True
    response = client.get("/nope/")
    assert response.status_code == 404
    assert "Content-Security-Policy" not in response


def check_observatory_headers(response, url):
    """The checks the Mozilla HTTP Observatory scores, at their A+ settings."""
    csp = response["Content-Security-Policy"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in csp.split(";")
        if part.strip()
    )
    for name in ("script-src", "style-src", "default-src"):
        value = directives.get(name, directives.get("default-src", ""))
        assert "'unsafe-inline'" not in value, (url, name)
        assert "'unsafe-eval'" not in value, (url, name)
        assert "http:" not in value and "*" not in value.split(), (url, name)
    assert directives["frame-ancestors"] == "'none'", url
    assert directives["object-src"] == "'none'", url
    assert directives["base-uri"] == "'self'", url
    assert directives["form-action"] == "'self'", url
    hsts = response["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 15768000, url
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["X-Frame-Options"] == "DENY", url
    assert response["Referrer-Policy"] in (
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ), url
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", url
    assert "camera=()" in response["Permissions-Policy"], url
    for morsel in response.cookies.values():
        assert morsel["secure"], (url, morsel.key)
        if morsel.key in ("sessionid", "csrftoken"):
            assert morsel["httponly"], (url, morsel.key)
        assert morsel["samesite"], (url, morsel.key)


def test_login_sets_secure_httponly_session_cookie_over_https(
    client, behind_https_proxy
):
    UserFactory(username="writer", is_staff=True)
    page = client.get(reverse("admin:login"), **HTTPS)
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"]
    response = client.post(
        reverse("admin:login"),
        {
            "username": "writer",
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": csrf.value,
        },
        **HTTPS,
        HTTP_REFERER="https://testserver/admin/login/",
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]


def test_failed_logins_are_locked_out_and_can_be_unlocked(client, settings):
    from axes.models import AccessAttempt

    settings.AXES_ENABLED = True
    UserFactory(username="victim", is_staff=True)
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "victim", "password": "wrong"})
    locked = client.post(
        url, {"username": "victim", "password": "correct horse battery staple"}
    )
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert AccessAttempt.objects.filter(username="victim").exists()
    AccessAttempt.objects.filter(
        username="victim"
    ).delete()  # what the admin's unlock does
    ok = client.post(
        url, {"username": "victim", "password": "correct horse battery staple"}
    )
    assert ok.status_code == 302


def test_lockouts_behind_the_proxy_count_each_client_address(client, settings):
    # Behind the shipped nginx (AXES_PROXY_COUNT=1) every client's address used to
    # come out empty, so five failures from anyone locked everyone out.
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="editor", is_staff=True)
    url = reverse("admin:login")
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            url,
            {"username": f"guess{n}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    attacker = client.post(
        url,
        {"username": "guess-again", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert attacker.status_code == 429
    editor = Client().post(
        url,
        {"username": "editor", "password": "correct horse battery staple"},
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert editor.status_code == 302


def test_failures_elsewhere_do_not_lock_an_author_out(client, settings):
    # Five wrong passwords for a username from anywhere locked it everywhere, and an
    # attempt an hour kept it locked.
    settings.AXES_ENABLED = True
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="editor", is_staff=True)
    url = reverse("admin:login")
    for n in range(settings.AXES_FAILURE_LIMIT + 2):
        client.post(
            url,
            {"username": "editor", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    from_home = Client().post(
        url,
        {"username": "editor", "password": "correct horse battery staple"},
        HTTP_X_FORWARDED_FOR="198.51.100.4",
    )
    assert from_home.status_code == 302


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.2"),  # no proxy: the header is the client's word
        (1, "203.0.113.9", "203.0.113.9"),  # the shipped nginx sets it
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # a proxy that appends
        (2, "6.6.6.6, 203.0.113.9, 10.1.1.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # fewer hops than proxies
        (1, "not-an-address", "10.0.0.2"),
        (1, " 2001:DB8::1 ", "2001:db8::1"),
    ],
)
def test_client_address_is_the_nth_from_the_right(
    settings, rf, count, forwarded_for, expected
):
    from config.client_ip import client_ip

    settings.TRUSTED_PROXY_COUNT = count
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def request_lines(capfd) -> list[dict]:
    lines = capfd.readouterr().err.splitlines()
    return [json.loads(line) for line in lines if '"inkstone.request"' in line]


def test_request_log_is_one_json_line_without_secrets(client, capfd, request_log_on):
    UserFactory(username="writer", is_staff=True)
    capfd.readouterr()
    response = client.post(
        reverse("admin:login"), {"username": "writer", "password": "hunter2-secret"}
    )
    err = capfd.readouterr().err
    assert "hunter2" not in err
    [line] = [line for line in err.splitlines() if '"inkstone.request"' in line]
    data = json.loads(line)
    assert data["method"] == "POST"
    assert data["status"] == response.status_code
    assert data["request_id"] == response["X-Request-ID"]
    assert isinstance(data["duration_ms"], float)
    assert (data["level"], data["logger"], data["message"]) == (
        "INFO",
        "inkstone.request",
        "request",
    )
    logged_at = datetime.strptime(data["time"], "%Y-%m-%dT%H:%M:%S%z")
    assert abs(logged_at.timestamp() - time.time()) < 60
    assert list(data) == [
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "bytes",
    ]


def test_request_log_survives_hostile_paths_and_ids(client, capfd, request_log_on):
    hostile_id = 'a"b\\c</script>'
    path = "/posts/%22%5C%0A%E8%B7%AF%E5%BE%84%FF%ED%A0%80/"
    capfd.readouterr()
    response = client.get(path, HTTP_X_REQUEST_ID=hostile_id)
    assert response.status_code == 404
    [data] = request_lines(capfd)
    assert data["request_id"] == hostile_id
    assert data["path"] == response.wsgi_request.path
    assert "路径" in data["path"] and "\n" in data["path"]
    assert (data["status"], data["bytes"]) == (404, len(response.content))


def test_a_refused_host_is_one_short_log_line(client):
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, SuspiciousRequestFilter) for f in handler.filters)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        response = client.get("/", HTTP_HOST="evil.example" + "x" * 5000)
    finally:
        handler.setStream(previous)
    assert response.status_code == 400
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [refused] = [line for line in lines if line["logger"].startswith("django.security")]
    assert refused["message"].startswith("Invalid HTTP_HOST header: 'evil.example")
    assert len(refused["message"]) <= 301
    assert "Traceback" not in stream.getvalue()


def test_request_log_lines_stay_whole_for_a_pipe(client, capfd, request_log_on):
    capfd.readouterr()
    client.get("/" + "%01" * 4000, HTTP_X_REQUEST_ID="\u00e9" * 64)
    [line] = capfd.readouterr().err.splitlines()
    assert len(line.encode()) + 1 <= 4096  # PIPE_BUF: written in one piece
    assert json.loads(line)["path"] == "/" + "\x01" * 499


def test_health_checks_are_not_logged(client, capfd, request_log_on):
    capfd.readouterr()
    assert client.get("/healthz").status_code == 200
    assert request_lines(capfd) == []


def test_log_level_warning_silences_the_request_log(client, capfd, request_log_on):
    capfd.readouterr()
    request_log_on.setLevel(logging.WARNING)
    client.get("/")
    assert request_lines(capfd) == []
    request_log_on.setLevel(logging.INFO)
    client.get("/")
    assert [d["path"] for d in request_lines(capfd)] == ["/"]


def test_log_time_follows_each_record():
    from config.middleware import JsonFormatter

    formatter = JsonFormatter()
    record = logging.makeLogRecord({"msg": "x", "created": 1_700_000_000.2})
    later = logging.makeLogRecord({"msg": "x", "created": 1_700_000_061.9})
    times = [json.loads(formatter.format(r))["time"] for r in (record, later, record)]
    assert times == [
        "2023-11-14T22:13:20+0000",
        "2023-11-14T22:14:21+0000",
        "2023-11-14T22:13:20+0000",
    ]


def test_admin_path_is_configurable():
    from django.conf import settings

    assert reverse("admin:index") == "/" + settings.ADMIN_URL


def _new_request_id(queue):
    from config.middleware import request_id

    queue.put(request_id(""))


def test_request_ids_are_new_in_every_forked_worker():
    """gunicorn forks its workers from a master that already imported the app."""
    import multiprocessing

    from config.middleware import request_id

    request_id("")  # the parent's generator state, which every child inherits
    fork = multiprocessing.get_context("fork")
    queue = fork.Queue()
    workers = [fork.Process(target=_new_request_id, args=(queue,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    ids = {queue.get(timeout=10) for _ in workers} | {request_id("")}
    for worker in workers:
        worker.join()
    assert len(ids) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
