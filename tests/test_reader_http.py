"""HTTP at the edges of the reader URLs: methods, odd paths, pages that are not there."""

import io

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from PIL import Image

from tests.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader_urls() -> list[str]:
    tag = TagFactory(name="Python")
    post = PostFactory(tags=[tag])
    year = post.published_at.year
    return [
        "/",
        post.get_absolute_url(),
        "/tags/",
        tag.get_absolute_url(),
        reverse("blog:tag_feed_atom", args=[tag.slug]),
        reverse("blog:tag_feed_rss", args=[tag.slug]),
        "/archive/",
        f"/archive/{year}/",
        "/search/?q=Post",
        post.author.get_absolute_url(),
        "/feed/atom/",
        "/feed/rss/",
        "/sitemap.xml",
        "/sitemap-posts.xml",
        "/robots.txt",
    ]


def test_every_reader_url_answers_head_like_get(client, settings, reader_urls):
    # Uncached: a cached page answered HEAD whatever the view allowed.
    settings.PAGE_CACHE_ENABLED = False
    for url in reader_urls:
        get = client.get(url)
        head = client.head(url)
        assert (url, get.status_code, head.status_code) == (url, 200, 200)
        assert head.content == b""
        assert head["Content-Type"] == get["Content-Type"]


@pytest.mark.parametrize("method", ["trace", "post", "put", "delete"])
def test_reader_urls_refuse_other_methods(client, reader_urls, method):
    for url in reader_urls:
        response = getattr(client, method)(url)
        assert (url, response.status_code) == (url, 405)
        assert (
            {"GET", "HEAD"}
            <= set(response["Allow"].split(", "))
            <= {
                "GET",
                "HEAD",
                "OPTIONS",
            }
        )


def test_options_renders_nothing(client, reader_urls):
    # The class-based views describe themselves (200 with Allow), the others refuse.
    for url in reader_urls:
        response = client.options(url)
        assert (url, response.status_code in (200, 405)) == (url, True)
        assert (url, response.content) == (url, b"")
        assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    "path", ["/authors/%00/", "/authors/a%00b/", "/authors/a%2Fb/"]
)
def test_author_urls_that_no_username_could_have_are_not_found(client, path):
    assert client.get(path).status_code == 404


def test_an_author_with_a_dotted_username_has_a_page(client):
    post = PostFactory(author__username="ada.lovelace@home")
    response = client.get(post.author.get_absolute_url())
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/accounts/password_reset/", "/accounts/logout/"]
)
def test_no_half_wired_account_pages(client, path):
    # Authors sign in through the admin, which has its own login and lockout.
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("page", ["%D9%A3", "+2", "%202", "2%20", "-1", "0x2", "²"])
def test_page_numbers_are_ascii_digits_only(client, page):
    PostFactory.create_batch(settings.POSTS_PER_PAGE + 1)
    assert client.get("/?page=2").status_code == 200
    assert client.get(f"/?page={page}").status_code == 404
    assert client.get(f"/sitemap-posts.xml?p={page}").status_code == 404


def test_probes_answer_head(client):
    for url in ("/healthz", "/readyz"):
        assert client.head(url).status_code == 200


def test_a_form_post_without_its_token_gets_a_styled_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/", {"x": "1"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form has expired" in html
    assert "<style" not in html and 'rel="stylesheet"' in html


def test_a_bad_request_gets_a_styled_page(client):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_control_characters_in_a_search_are_not_echoed(client):
    html = client.get("/search/", {"q": "a\x00b\x0bc"}).content.decode()
    assert "\x00" not in html and "\x0b" not in html
    assert 'value="a b c"' in html


def test_the_content_security_policy_lists_directives_in_one_order(client):
    policy = client.get("/")["Content-Security-Policy"].split("; ")
    assert policy == sorted(policy)


@pytest.mark.parametrize(
    ("path", "content_type", "sizes"),
    [
        ("/favicon.ico", "image/x-icon", {(16, 16), (32, 32), (48, 48)}),
        ("/apple-touch-icon.png", "image/png", {(180, 180)}),
    ],
)
def test_the_site_icon_is_where_feed_readers_and_phones_look(
    client, path, content_type, sizes
):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.info.get("sizes", {image.size}) == sizes


def test_pages_name_their_home_screen_icon(client):
    page = client.get("/").content.decode()

    assert '<link rel="apple-touch-icon" href="/apple-touch-icon.png">' in page
