import pickle
import time

import pytest

from config.bounded_cache import BoundedLocMemCache
from tests.factories import PostFactory


def make_cache(name, max_bytes, max_entries=1000, cull_frequency=3):
    cache = BoundedLocMemCache(
        name,
        {
            "OPTIONS": {
                "MAX_BYTES": max_bytes,
                "MAX_ENTRIES": max_entries,
                "CULL_FREQUENCY": cull_frequency,
            }
        },
    )
    cache.clear()
    return cache


def held(cache) -> int:
    return sum(len(v) for v in cache._cache.values())


def test_least_recently_used_entries_go_when_the_bytes_run_out():
    cache = make_cache("bounded-lru", max_bytes=3500)
    for name in "abc":
        cache.set(name, b"x" * 1000)
    cache.get("a")  # now the most recent
    cache.set("d", b"x" * 1000)
    assert cache.get("b") is None
    assert all(cache.get(name) for name in "acd")
    assert cache.size == held(cache) <= 3500


def test_a_value_larger_than_the_budget_is_not_stored():
    cache = make_cache("bounded-large", max_bytes=1000)
    cache.set("small", b"x" * 100)
    cache.set("huge", b"x" * 5000)
    assert cache.get("huge") is None
    assert cache.get("small") == b"x" * 100
    assert cache.size == held(cache)


def test_size_follows_overwrites_deletes_expiry_culls_and_clear():
    cache = make_cache("bounded-books", max_bytes=10**6, max_entries=10)
    cache.set("k", b"x" * 500)
    cache.set("k", b"x" * 50)
    assert cache.size == held(cache) == len(pickle.dumps(b"x" * 50, -1))
    cache.delete("k")
    assert cache.size == 0
    cache.set("gone", b"x", timeout=0.01)
    time.sleep(0.02)
    assert cache.get("gone") is None and cache.size == 0
    for n in range(25):  # culls by count every time it is full
        cache.set(f"n{n}", b"x" * n)
    assert len(cache._cache) <= 10
    assert cache.size == held(cache)
    cache.set("count", 1, timeout=60)
    expires = cache._expire_info[cache.make_and_validate_key("count")]
    assert cache.incr("count", 10**30) == 1 + 10**30
    assert cache._expire_info[cache.make_and_validate_key("count")] == expires
    assert cache.size == held(cache)
    cache.clear()
    assert cache.size == 0


@pytest.mark.django_db
def test_many_different_searches_keep_a_worker_within_its_cache_budget(
    client, settings
):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.bounded_cache.BoundedLocMemCache",
            "LOCATION": "bounded-http",
            "OPTIONS": {"MAX_BYTES": 100_000},
        }
    }
    from django.core.cache import caches

    PostFactory.create_batch(5, title="Post about torch")
    for n in range(40):
        assert client.get("/search/", {"q": f"torch {n}"}).status_code == 200
    cache = caches["default"]
    assert 0 < cache.size <= 100_000
    assert cache.size == held(cache)
