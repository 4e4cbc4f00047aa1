"""Each process hears of content changes committed anywhere (blog.change_listener):
a page edited through another worker or replica is never served as it was, and
while nothing changes a cache hit asks the database nothing. These tests commit:
PostgreSQL notifies when a change commits."""

import select
import threading
import time

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from blog import page_cache
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener(settings):
    settings.PAGE_CACHE_LISTEN = True
    page_cache.memo.clear()
    yield page_cache.listener
    page_cache.listener.stop()
    page_cache.memo.clear()


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def listening(listener) -> tuple:
    """Start the listener through a page (as a worker does) and wait until it is up."""
    listener.start()
    wait_for(lambda: listener.state() is not None)
    return listener.state()


def another_process() -> psycopg.Connection:
    """A connection of its own, as another worker or replica has: what it changes
    sends no Django signal to this process."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
        autocommit=True,
    )


def home(client):
    return client.get(reverse("blog:post_list"))


def test_while_nothing_changes_a_hit_asks_the_database_nothing(
    client, listener, settings, django_assert_num_queries
):
    # No trust window: only the listener can vouch for the memoized token.
    settings.PAGE_CACHE_TOKEN_TTL = 0
    PostFactory()
    listening(listener)
    home(client)
    for _ in range(3):
        with django_assert_num_queries(0):
            assert home(client)["X-Cache"] == "HIT"


def test_a_change_committed_by_another_process_shows_on_the_next_request(
    client, listener, settings
):
    # Without the notification this process would trust its token for an hour.
    settings.PAGE_CACHE_TOKEN_TTL = 3600
    post = PostFactory(title="Before the edit")
    listening(listener)
    assert "Before the edit" in home(client).content.decode()
    assert home(client)["X-Cache"] == "HIT"
    heard = listener.changes
    with another_process() as other:
        other.execute(
            "UPDATE blog_post SET title = 'After the edit' WHERE id = %s", [post.pk]
        )
    wait_for(lambda: listener.changes > heard)
    page = home(client)
    assert "After the edit" in page.content.decode()
    assert page["X-Cache"] == "MISS"


def test_a_notification_not_yet_read_already_counts(
    client, listener, settings, monkeypatch
):
    """The window between PostgreSQL sending a notification and the listener thread
    reading it (it may be waiting for the GIL): requests must not trust the token."""
    settings.PAGE_CACHE_TOKEN_TTL = 3600
    post = PostFactory(title="First")
    listening(listener)
    home(client)
    gate = threading.Event()

    def stuck_after_the_first(forget=listener.on_change):
        forget()
        gate.wait(10)

    monkeypatch.setattr(listener, "on_change", stuck_after_the_first)
    heard = listener.changes
    with another_process() as other:
        other.execute("UPDATE blog_post SET title = 'Second' WHERE id = %s", [post.pk])
        wait_for(lambda: listener.changes == heard + 1)
        assert "Second" in home(client).content.decode()
        assert home(client)["X-Cache"] == "HIT"
        other.execute("UPDATE blog_post SET title = 'Third' WHERE id = %s", [post.pk])
        unread = select.poll()
        unread.register(listener.fd, select.POLLIN)
        wait_for(lambda: unread.poll(0))
        try:
            assert listener.changes == heard + 1
            assert "Third" in home(client).content.decode()
        finally:
            gate.set()


def test_a_lost_listener_connection_is_not_trusted_and_comes_back(
    client, listener, settings, django_assert_num_queries
):
    settings.PAGE_CACHE_TOKEN_TTL = 0
    PostFactory()
    first = listening(listener)
    home(client)
    with django_assert_num_queries(0):
        home(client)
    with another_process() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [listener.backend_pid])
    wait_for(lambda: listener.state() not in (None, first))
    assert not listener.vouches(first)
    # Changes made while it was down were not heard: the token is read again.
    with django_assert_num_queries(1):
        home(client)
    with django_assert_num_queries(0):
        home(client)


def test_turned_off_a_process_trusts_its_token_for_the_ttl_only(
    client, listener, settings, django_assert_num_queries
):
    settings.PAGE_CACHE_LISTEN = False
    settings.PAGE_CACHE_TOKEN_TTL = 0
    PostFactory()
    home(client)
    with django_assert_num_queries(1):
        home(client)
    assert listener.state() is None
