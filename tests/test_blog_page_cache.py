from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blog.models import Post, Tag
from tests.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def home(client, **headers):
    return client.get(reverse("blog:post_list"), headers=headers)


def test_second_anonymous_request_is_served_from_cache(client):
    PostFactory(title="Cached post")
    first = home(client)
    assert first["X-Cache"] == "MISS"
    second = home(client)
    assert second["X-Cache"] == "HIT"
    assert second.content == first.content
    assert second["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_cached_response_has_validators_and_cdn_friendly_cache_control(client):
    PostFactory()
    response = home(client)
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith("GMT")
    control = response["Cache-Control"]
    assert "public" in control
    assert "s-maxage=" in control
    assert "stale-while-revalidate=" in control


def test_revalidation_answers_304_with_one_query(client, django_assert_num_queries):
    PostFactory.create_batch(3)
    etag = home(client)["ETag"]
    with django_assert_num_queries(1):
        response = home(client, if_none_match=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_if_modified_since_answers_304(client):
    PostFactory()
    last_modified = home(client)["Last-Modified"]
    assert home(client, if_modified_since=last_modified).status_code == 304


FUTURE = "Thu, 01 Jan 2099 00:00:00 GMT"


def test_if_modified_since_on_a_page_not_cached_yet_renders_it_then_answers_304(
    client, settings
):
    post = PostFactory()
    for enabled in (True, False):
        settings.PAGE_CACHE_ENABLED = enabled
        response = client.get(
            post.get_absolute_url(), headers={"if_modified_since": FUTURE}
        )
        assert response.status_code == 304
        assert response.content == b""


@pytest.mark.parametrize(
    "headers", [{"if_none_match": "*"}, {"if_modified_since": FUTURE}]
)
def test_a_condition_never_turns_a_missing_page_or_a_redirect_into_304(client, headers):
    post = PostFactory(slug="old-name")
    post.slug = "new-name"
    post.save()
    assert client.get("/posts/nope/", headers=headers).status_code == 404
    assert client.get("/?page=99", headers=headers).status_code == 404
    assert client.get("/posts/old-name/", headers=headers).status_code == 301
    assert client.get("/feed/atom", headers=headers).status_code == 301


def test_if_none_match_star_matches_a_page_that_exists(client):
    PostFactory()
    assert home(client, if_none_match="*").status_code == 304


def test_cache_hit_costs_one_query(client, django_assert_num_queries):
    PostFactory.create_batch(3)
    home(client)
    with django_assert_num_queries(1):
        assert home(client)["X-Cache"] == "HIT"


def test_publishing_is_visible_on_the_next_anonymous_request(client):
    PostFactory(title="Old")
    etag = home(client)["ETag"]
    home(client)
    PostFactory(title="Brand new post")
    response = home(client, if_none_match=etag)
    assert response.status_code == 200
    assert "Brand new post" in response.content.decode()


@pytest.mark.parametrize(
    "change", ["edit", "delete", "unpublish", "tag", "tag_rename", "author"]
)
def test_every_content_change_invalidates(client, change):
    tag = TagFactory(name="Python")
    post = PostFactory(title="Original title", tags=[tag])
    url = (
        post.author.get_absolute_url()
        if change == "author"
        else reverse("blog:post_list")
    )
    before = client.get(url).content.decode()
    assert "Original title" in before
    if change == "edit":
        post.title = "Edited title"
        post.save()
    elif change == "delete":
        post.delete()
    elif change == "unpublish":
        post.status = Post.Status.DRAFT
        post.save()
    elif change == "tag":
        post.tags.add(Tag.objects.create(name="Rust"))
    elif change == "tag_rename":
        Tag.objects.filter(pk=tag.pk).update(name="Python3")
    elif change == "author":
        post.author.display_name = "Renamed Author"
        post.author.save()
    after = client.get(url).content.decode()
    assert after != before
    assert client.get(url)["X-Cache"] == "HIT"


@pytest.mark.parametrize(
    "change", ["create", "edit", "tags", "delete", "same_tags", "schedule"]
)
def test_draft_work_leaves_readers_pages_and_their_dates_alone(client, change):
    # Every draft save emptied the cache for all readers, and Last-Modified said
    # when an author had saved one.
    live = PostFactory(title="Live post", tags=[TagFactory(name="Python")])
    draft = PostFactory(title="Secret draft", status=Post.Status.DRAFT)
    first = home(client)
    if change == "create":  # with a new tag and one a live post has
        PostFactory(
            status=Post.Status.DRAFT, tags=[TagFactory(name="New"), *live.tags.all()]
        )
    elif change == "edit":
        draft.title = "Secret draft, edited"
        draft.save()
    elif change == "tags":
        draft.tags.add(TagFactory(name="Unannounced"), *live.tags.all())
    elif change == "delete":
        draft.delete()
    elif change == "same_tags":
        draft.tags.set([])  # the admin sets a post's tags on every save
    elif change == "schedule":  # a scheduled post is a published one: it counts
        draft.status = Post.Status.PUBLISHED
        draft.published_at = timezone.now() + timedelta(days=1)
        draft.save()
    again = home(client)
    if change == "schedule":
        assert again["ETag"] != first["ETag"]
    else:
        assert again["ETag"] == first["ETag"], change
        assert again["Last-Modified"] == first["Last-Modified"]
        assert again["X-Cache"] == "HIT"


def test_a_made_up_session_cookie_does_not_skip_the_cache(client):
    # Any "sessionid=x" forced a full render of any page (a feed: 25 ms of CPU).
    PostFactory()
    home(client)
    client.cookies["sessionid"] = "made-up"
    response = home(client)
    assert response["X-Cache"] == "HIT"
    assert "private" not in response["Cache-Control"]


def test_login_does_not_flush_the_cache(client, user):
    PostFactory()
    home(client)
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert home(client)["X-Cache"] == "HIT"


def test_scheduled_post_goes_live_without_any_write(client, monkeypatch):
    at = timezone.now() + timedelta(minutes=5)
    PostFactory(title="Visible")
    PostFactory(title="Scheduled one", published_at=at)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: at - timedelta(seconds=1))
    assert "Scheduled one" not in home(client).content.decode()
    assert home(client)["X-Cache"] == "HIT"
    monkeypatch.setattr(timezone, "now", lambda: at)
    response = home(client)
    assert "Scheduled one" in response.content.decode()
    monkeypatch.setattr(timezone, "now", real_now)


def test_staff_bypass_the_cache(staff_client):
    PostFactory(title="Public")
    anonymous = Client()
    home(anonymous)
    PostFactory(title="Draft for staff", status=Post.Status.DRAFT)
    response = home(staff_client)
    assert "X-Cache" not in response
    assert "private" in response["Cache-Control"]


def test_cache_is_keyed_by_language(settings):
    settings.LANGUAGE_NEGOTIATION = True
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:7],
        "django.middleware.locale.LocaleMiddleware",
        *settings.MIDDLEWARE[7:],
    ]
    client = Client()
    PostFactory()
    english = home(client, accept_language="en").content.decode()
    chinese = home(client, accept_language="zh-hans").content.decode()
    assert english != chinese
    assert "Vary" in home(client)
    assert "Accept-Language" in home(client)["Vary"]


def test_query_strings_are_cached_separately(client):
    PostFactory.create_batch(12)
    page1 = home(client)
    page2 = client.get(reverse("blog:post_list"), {"page": 2})
    assert page1.content != page2.content


def test_parameters_a_page_does_not_read_share_its_cache_entry(client):
    # Every "?r=N" was rendered and stored anew: a million feeds of 0.4 MB each.
    PostFactory.create_batch(12)
    for url in (reverse("feed_atom"), reverse("blog:post_list") + "?page=2"):
        separator = "&" if "?" in url else "?"
        first = client.get(url)
        for extra in ("r=1", "r=2", "utm_source=news&fbclid=abc"):
            again = client.get(f"{url}{separator}{extra}")
            assert again["X-Cache"] == "HIT", (url, extra)
            assert again.content == first.content
    # A parameter another page reads changes nothing here either.
    for extra in ("page=2", "q=x", "p=3"):
        again = client.get(f"{reverse('feed_atom')}?{extra}")
        assert again["X-Cache"] == "HIT", extra
    # The parameters it reads still count, the last of a repeated one as Django reads it.
    assert client.get("/?page=1&page=2").content == client.get("/?page=2").content
    search = client.get("/search/", {"q": "Post"})
    assert client.get("/search/", {"q": "other"})["X-Cache"] == "MISS"
    assert client.get("/search/?utm=1&q=Post")["ETag"] == search["ETag"]


def test_a_query_with_too_many_fields_is_a_bad_request_not_an_error(client, settings):
    # page_key reads the query: past DATA_UPLOAD_MAX_NUMBER_FIELDS it raised.
    PostFactory()
    client.get("/")
    query = "&".join(
        f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)
    )
    assert client.get(f"/?{query}").status_code == 400


def test_admin_and_health_are_never_cached(client):
    for url in (reverse("admin:login"), "/healthz"):
        client.get(url)
        assert "X-Cache" not in client.get(url)


def test_feeds_and_sitemap_are_cached_and_revalidated(client):
    PostFactory()
    for url in (reverse("feed_atom"), reverse("sitemap"), "/robots.txt"):
        first = client.get(url)
        assert client.get(url)["X-Cache"] == "HIT"
        assert (
            client.get(url, headers={"if_none_match": first["ETag"]}).status_code == 304
        )


def test_broken_cache_backend_degrades_to_misses(client, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }
    from blog import page_cache

    page_cache.degraded.skip_until = 0.0
    page_cache.degraded.last_log = 0.0
    PostFactory(title="Still served")
    for _ in range(5):
        response = home(client)
        assert response.status_code == 200
        assert "Still served" in response.content.decode()
    warnings = [r for r in caplog.records if r.name == "inkstone.cache"]
    assert len(warnings) == 1
    page_cache.degraded.skip_until = 0.0


def count_queries(client, path, **params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return response, sum("COUNT(" in q["sql"] for q in queries.captured_queries)


def test_every_page_of_a_list_shares_one_cached_count(client):
    PostFactory.create_batch(12)
    path = reverse("blog:post_list")
    _, counted = count_queries(client, path)
    assert counted == 1
    response, counted = count_queries(client, path, page=2)
    assert counted == 0
    assert response.context["paginator"].count == 12


def test_cached_count_follows_a_new_post(client):
    path = reverse("blog:post_list")
    PostFactory.create_batch(3)
    assert count_queries(client, path)[0].context["paginator"].count == 3
    PostFactory()
    response, counted = count_queries(client, path, page=1)
    assert counted == 1
    assert response.context["paginator"].count == 4


def test_lists_do_not_share_counts(client):
    python = TagFactory(name="Python")
    PostFactory.create_batch(3)
    PostFactory(tags=[python])
    assert (
        count_queries(client, reverse("blog:post_list"))[0].context["paginator"].count
        == 4
    )
    tag_page = count_queries(client, python.get_absolute_url())[0]
    assert tag_page.context["paginator"].count == 1


@pytest.fixture
def token_memo(settings):
    from blog import page_cache

    settings.PAGE_CACHE_TOKEN_TTL = 60
    page_cache.memo.clear()
    yield page_cache.memo
    page_cache.memo.clear()


def test_memoized_token_makes_a_hit_cost_no_query(
    client, token_memo, django_assert_num_queries
):
    PostFactory()
    home(client)
    with django_assert_num_queries(0):
        assert home(client)["X-Cache"] == "HIT"


def test_saves_in_this_process_forget_the_memoized_token(client, token_memo):
    post = PostFactory(title="Before")
    home(client)
    post.title = "After the edit"
    post.save()
    assert "After the edit" in home(client).content.decode()
    post.tags.add(TagFactory(name="NewTag"))
    assert "NewTag" in home(client).content.decode()


def test_memoized_token_ends_at_the_next_scheduled_post(
    client, token_memo, monkeypatch
):
    at = timezone.now() + timedelta(minutes=5)
    PostFactory(title="Visible")
    PostFactory(title="Scheduled one", published_at=at)
    monkeypatch.setattr(timezone, "now", lambda: at - timedelta(seconds=1))
    assert "Scheduled one" not in home(client).content.decode()
    monkeypatch.setattr(timezone, "now", lambda: at)
    assert "Scheduled one" in home(client).content.decode()
