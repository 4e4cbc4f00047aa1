from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from blog import pagination
from blog.models import Post
from tests.factories import PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

PER_PAGE = 10


@pytest.fixture(autouse=True)
def small_anchors(monkeypatch, settings):
    """Deep pages from page 2 and an anchor every 7 rows, so a few dozen posts have
    anchors inside runs of equal publication times and pages that start between
    anchors. Without the page cache every request reaches the paginator; the
    content token is still computed."""
    monkeypatch.setattr(pagination, "DEEP_OFFSET", PER_PAGE)
    monkeypatch.setattr(pagination, "ANCHOR_STEP", 7)
    settings.PAGE_CACHE_ENABLED = False


def posts_in_runs(count, newest, **kwargs):
    """Posts published in runs of four at the same instant, newest first."""
    return [
        PostFactory(published_at=newest - timedelta(hours=n // 4), **kwargs)
        for n in range(count)
    ]


def get_page(client, path, number):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, {"page": number})
    assert response.status_code == 200
    anchor_queries = sum("ROW_NUMBER()" in q["sql"] for q in queries.captured_queries)
    return list(response.context["posts"]), anchor_queries


def assert_every_page_matches_offset(client, path, expected):
    """Each page holds the posts the ORM's OFFSET gives, each with its own tags."""
    pages = -(-len(expected) // PER_PAGE)
    anchor_queries = 0
    for number in range(1, pages + 1):
        posts, computed = get_page(client, path, number)
        bottom = (number - 1) * PER_PAGE
        assert posts == expected[bottom : bottom + PER_PAGE], f"page {number}"
        for post in posts:
            shown = [tag.name for tag in post.tag_list]
            assert shown == sorted(tag.name for tag in post.tags.all()), post
        anchor_queries += computed
    return anchor_queries


def test_deep_pages_match_offset_results_with_ties_across_anchors(client):
    python, rust = TagFactory(name="Python"), TagFactory(name="Rust")
    newest = timezone.now() - timedelta(days=1)
    for tags in ([python], [], [python, rust]):
        posts_in_runs(15, newest, tags=tags)
        newest -= timedelta(minutes=1)
    expected = list(Post.objects.published())
    path = reverse("blog:post_list")
    assert assert_every_page_matches_offset(client, path, expected) == 1


def test_tag_pages_match_offset_results_with_ties_across_anchors(client):
    python = TagFactory(name="Python")
    newest = timezone.now() - timedelta(days=1)
    posts_in_runs(38, newest, tags=[python])
    posts_in_runs(20, newest)
    expected = list(Post.objects.published().tagged(python))
    assert len(expected) == 38
    path = python.get_absolute_url()
    assert assert_every_page_matches_offset(client, path, expected) == 1


def test_pages_before_the_deep_ones_match_offset_results_with_their_tags(
    client, monkeypatch
):
    """Home and tag pages before the deep ones come from one hand-written statement:
    the same posts in the same order as the ORM's OFFSET, each with its own tags, and
    never a draft or a scheduled post."""
    monkeypatch.setattr(pagination, "DEEP_OFFSET", 10_000)
    python, rust = TagFactory(name="Python"), TagFactory(name="Rust")
    newest = timezone.now() - timedelta(days=1)
    posts_in_runs(23, newest, tags=[python, rust])
    posts_in_runs(14, newest, tags=[rust])
    PostFactory(status=Post.Status.DRAFT, tags=[python])
    PostFactory(published_at=timezone.now() + timedelta(hours=1), tags=[python])
    lists = [
        (reverse("blog:post_list"), list(Post.objects.published())),
        (python.get_absolute_url(), list(Post.objects.published().tagged(python))),
    ]
    assert [len(expected) for _, expected in lists] == [37, 23]
    for path, expected in lists:
        assert assert_every_page_matches_offset(client, path, expected) == 0


def test_month_archive_pages_match_offset_results_with_ties_across_anchors(client):
    posts_in_runs(33, datetime(2025, 3, 20, 12, tzinfo=UTC))
    PostFactory(published_at=datetime(2025, 4, 2, tzinfo=UTC))
    expected = list(Post.objects.published().filter(published_at__month=3))
    assert len(expected) == 33
    path = reverse("blog:post_month_archive", args=[2025, 3])
    assert assert_every_page_matches_offset(client, path, expected) == 1


def test_later_deep_pages_of_one_version_reuse_the_anchors(
    client, django_assert_num_queries
):
    posts_in_runs(45, timezone.now() - timedelta(days=1))
    path = reverse("blog:post_list")
    assert get_page(client, path, 3)[1] == 1
    # Content token, the page's rows with their tags from the anchor on.
    with django_assert_num_queries(2):
        assert get_page(client, path, 4)[1] == 0


def test_deep_page_after_a_post_is_published_uses_new_anchors(client):
    posts_in_runs(40, timezone.now() - timedelta(days=1))
    draft = PostFactory(status=Post.Status.DRAFT, published_at=timezone.now())
    path = reverse("blog:post_list")
    before, computed = get_page(client, path, 3)
    assert computed == 1
    draft.status = Post.Status.PUBLISHED
    draft.save()
    after, computed = get_page(client, path, 3)
    assert computed == 1
    assert after == list(Post.objects.published()[20:30])
    assert after[1:] == before[:-1]


def test_deep_pages_without_a_content_token_use_offset(client, user):
    posts_in_runs(30, timezone.now() - timedelta(days=1))
    client.force_login(user)
    posts, computed = get_page(client, reverse("blog:post_list"), 3)
    assert computed == 0
    assert posts == list(Post.objects.published()[20:30])


def test_deep_pages_with_a_dead_cache_use_offset(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }
    posts_in_runs(30, timezone.now() - timedelta(days=1))
    posts, computed = get_page(client, reverse("blog:post_list"), 3)
    assert computed == 0
    assert posts == list(Post.objects.published()[20:30])


def test_deep_pages_use_the_cached_count_and_match_offset_results(client):
    PostFactory.create_batch(25)
    path = reverse("blog:post_list")
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        deep = client.get(path, {"page": 3})
    assert not any("COUNT(" in q["sql"] for q in queries.captured_queries)
    assert list(deep.context["posts"]) == list(Post.objects.published()[20:25])


def test_ascending_order_seeks_from_anchors_too():
    posts_in_runs(30, timezone.now() - timedelta(days=1))
    oldest_first = Post.objects.order_by("published_at", "pk")
    expected = list(oldest_first)
    paginator = pagination.ReaderPaginator(oldest_first, PER_PAGE, count_key="k")
    for number in paginator.page_range:
        bottom = (number - 1) * PER_PAGE
        assert list(paginator.page(number)) == expected[bottom : bottom + PER_PAGE]


def test_only_total_orders_of_plain_columns_get_anchors():
    posts = Post.objects.all()
    assert pagination.keyset_ordering(posts) == [
        ("published_at", True),
        ("id", True),
    ]
    assert pagination.keyset_ordering(posts.order_by("title", "pk")) == [
        ("title", False),
        ("id", False),
    ]
    assert pagination.keyset_ordering(posts.order_by("-published_at")) is None
    assert pagination.keyset_ordering(posts.order_by("author", "pk")) is None
    assert pagination.keyset_ordering(posts.order_by("author__username", "pk")) is None
    assert pagination.keyset_ordering(posts.order_by()) is None
    assert pagination.keyset_ordering(Post.objects.search("anchor")) is None


def test_every_paginated_list_names_its_page_and_links_its_neighbours(client):
    tag = TagFactory(name="Python")
    author = UserFactory()
    PostFactory.create_batch(2 * settings.POSTS_PER_PAGE + 1, tags=[tag], author=author)
    for url in (
        "/",
        tag.get_absolute_url(),
        author.get_absolute_url(),
        "/search/?q=Post",
    ):
        query = "?q=Post&amp;" if "?" in url else "?"
        separator = "&" if "?" in url else "?"
        # A tracking parameter is not carried into the links.
        html = client.get(f"{url}{separator}page=2&utm_source=x").content.decode()
        assert "<title>Page 2 · " in html, url
        # Page 1 is the list's own URL, as its canonical link says.
        first_url = "?q=Post" if "?" in url else url
        assert f'<link rel="prev" href="{first_url}">' in html, url
        assert f'<link rel="next" href="{query}page=3">' in html, url
        assert f'href="{first_url}" rel="prev">' in html, url
        assert "utm_source" not in html, url
        first = client.get(url).content.decode()
        assert "<title>Page" not in first and 'rel="prev"' not in first, url


def test_older_posts_are_on_the_left_as_in_every_other_navigation(client):
    PostFactory.create_batch(2 * settings.POSTS_PER_PAGE + 1)
    html = client.get("/?page=2").content.decode()
    nav = html[html.index('<nav class="pagination"') :]
    older, newer = nav.index("← Older"), nav.index("Newer →")
    assert older < nav.index("Page 2 of 3") < newer
    assert nav.rindex('href="?page=3"', 0, older) < older
