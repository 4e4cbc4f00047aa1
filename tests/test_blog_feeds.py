from datetime import timedelta
from xml.etree import ElementTree

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Post
from tests.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db

SITE = "https://blog.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def parse(client, url):
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


def visible_and_hidden_posts():
    tag = TagFactory(name="机器学习")
    post = PostFactory(
        title="注意力机制",
        body='## 背景\n\nSee [the list](/tags/) and ![diagram](/media/uploads/a.webp "d").',
        tags=[tag],
    )
    PostFactory(title="Draft", status=Post.Status.DRAFT, tags=[tag])
    PostFactory(
        title="Future", published_at=timezone.now() + timedelta(days=1), tags=[tag]
    )
    return post, tag


@pytest.mark.parametrize("name", ["feed_atom", "feed_rss"])
def test_site_feeds_have_published_posts_with_absolute_content(client, name):
    post, tag = visible_and_hidden_posts()
    feed = parse(client, reverse(name))
    assert [entry.title for entry in feed.entries] == ["注意力机制"]
    entry = feed.entries[0]
    assert entry.link == SITE + post.get_absolute_url()
    content = entry.content[0].value if "content" in entry else entry.summary
    assert f'href="{SITE}/tags/"' in content
    assert f'src="{SITE}/media/uploads/a.webp"' in content
    assert '<h2 id="背景">背景</h2>' in content  # without the page's "#" link
    assert entry.author == post.author.name
    assert [t.term for t in entry.tags] == ["机器学习"]
    assert entry.published_parsed or entry.updated_parsed


def test_atom_entries_carry_the_body_as_content_and_the_excerpt_as_summary(client):
    # The whole body went in <summary>, which Atom means for an abstract.
    post, tag = visible_and_hidden_posts()
    for url in (reverse("feed_atom"), reverse("blog:tag_feed_atom", args=[tag.slug])):
        root = ElementTree.fromstring(client.get(url).content)
        ns = {"a": "http://www.w3.org/2005/Atom"}
        [entry] = root.findall("a:entry", ns)
        assert entry.find("a:summary", ns).text == post.excerpt
        content = entry.find("a:content", ns)
        assert content.get("type") == "html"
        assert f'src="{SITE}/media/uploads/a.webp"' in content.text


def test_atom_summary_shows_text_that_looks_like_markup_as_text(client):
    # The excerpt is text, and Atom1Feed marks the summary as HTML: a feed reader
    # dropped "<T>" and loaded the image.
    PostFactory(
        title="Generics", body="Use `Vec<T>` and never <img src=x onerror=alert(1)>."
    )
    [entry] = parse(client, reverse("feed_atom")).entries
    # HTML that a reader shows as the text itself.
    assert entry.summary_detail.type == "text/html"
    assert entry.summary == (
        "Use Vec&lt;T&gt; and never &lt;img src=x onerror=alert(1)&gt;."
    )
    assert "<img" not in entry.content[0].value.replace("&lt;img", "")


def test_atom_entries_are_in_their_own_language_and_footnotes_link_to_the_page(
    client,
):
    english = PostFactory(title="Notes", body="A claim.[^1]\n\n[^1]: The source.")
    PostFactory(
        title="注意力", body="这是一篇关于注意力机制的中文文章，讲清楚它的来龙去脉。"
    )
    root = ElementTree.fromstring(client.get(reverse("feed_atom")).content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    entries = {e.find("a:title", ns).text: e for e in root.findall("a:entry", ns)}
    assert entries["注意力"].get(lang) == "zh-hans"
    assert entries["Notes"].get(lang) == "en"
    page = SITE + english.get_absolute_url()
    content = entries["Notes"].find("a:content", ns).text
    assert f'href="{page}#fn1"' in content
    assert f'href="{page}#fnref1"' in content
    assert 'href="#' not in content


def test_atom_feed_has_updated_dates_and_self_link(client):
    visible_and_hidden_posts()
    feed = parse(client, reverse("feed_atom"))
    assert feed.feed.updated_parsed
    assert feed.entries[0].updated_parsed
    assert any(
        link.rel == "self" and link.href.startswith(SITE) for link in feed.feed.links
    )


@pytest.mark.parametrize("name", ["blog:tag_feed_atom", "blog:tag_feed_rss"])
def test_tag_feeds(client, name):
    post, tag = visible_and_hidden_posts()
    PostFactory(title="Untagged")
    feed = parse(client, reverse(name, args=[tag.slug]))
    assert [entry.title for entry in feed.entries] == [post.title]
    assert "机器学习" in feed.feed.title


def test_unknown_tag_feed_is_404(client):
    assert client.get(reverse("blog:tag_feed_atom", args=["nope"])).status_code == 404


def test_feed_query_count_is_constant(client, django_assert_num_queries):
    PostFactory.create_batch(15, tags=TagFactory.create_batch(3))
    # content token, posts with their authors and tags
    with django_assert_num_queries(2):
        client.get(reverse("feed_atom"))


def test_every_page_advertises_feeds(client):
    post, tag = visible_and_hidden_posts()
    for url in (
        reverse("blog:post_list"),
        post.get_absolute_url(),
        reverse("blog:tag_list"),
    ):
        html = client.get(url).content.decode()
        assert 'type="application/atom+xml"' in html
        assert 'type="application/rss+xml"' in html
    tag_html = client.get(tag.get_absolute_url()).content.decode()
    assert reverse("blog:tag_feed_atom", args=[tag.slug]) in tag_html


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap_locs(client) -> tuple[list[str], list[str]]:
    """(the index's sitemap URLs, every page URL in them), as a crawler reads them."""
    index = client.get(reverse("sitemap"))
    assert index.status_code == 200
    root = ElementTree.fromstring(index.content)
    sitemaps = [el.text for el in root.findall("s:sitemap/s:loc", SITEMAP_NS)]
    locs = []
    for url in sitemaps:
        response = client.get(url.removeprefix(SITE))
        assert response.status_code == 200
        page = ElementTree.fromstring(response.content)
        locs += [el.text for el in page.findall("s:url/s:loc", SITEMAP_NS)]
        assert all(el.text for el in page.findall("s:url/s:lastmod", SITEMAP_NS))
    return sitemaps, locs


def test_sitemap_lists_exactly_the_published_posts_tags_and_months(client):
    post, tag = visible_and_hidden_posts()
    sitemaps, locs = sitemap_locs(client)
    assert sitemaps == [
        f"{SITE}/sitemap-posts.xml",
        f"{SITE}/sitemap-tags.xml",
        f"{SITE}/sitemap-archive.xml",
        f"{SITE}/sitemap-pages.xml",
    ]
    for page in ("/", "/tags/", "/archive/", post.author.get_absolute_url()):
        assert SITE + page in locs
    month = post.published_at
    assert SITE + post.get_absolute_url() in locs
    assert SITE + tag.get_absolute_url() in locs
    assert f"{SITE}/archive/{month:%Y}/{month:%m}/" in locs
    post_locs = [loc for loc in locs if "/posts/" in loc]
    assert post_locs == [SITE + post.get_absolute_url()]


def test_posts_sitemap_is_paged_behind_the_index(client, monkeypatch):
    from blog.sitemaps import PostSitemap

    monkeypatch.setattr(PostSitemap, "limit", 2)
    posts = PostFactory.create_batch(5)
    sitemaps, locs = sitemap_locs(client)
    assert sitemaps[:3] == [
        f"{SITE}/sitemap-posts.xml",
        f"{SITE}/sitemap-posts.xml?p=2",
        f"{SITE}/sitemap-posts.xml?p=3",
    ]
    post_locs = [loc for loc in locs if "/posts/" in loc]
    assert sorted(post_locs) == sorted(SITE + p.get_absolute_url() for p in posts)
    assert client.get("/sitemap-posts.xml?p=4").status_code == 404
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_sitemap_index_names_site_url_whatever_the_host_header(client, settings):
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    PostFactory()
    for host in ("testserver", "other.example"):
        index = client.get(reverse("sitemap"), headers={"host": host})
        root = ElementTree.fromstring(index.content)
        locs = [el.text for el in root.findall("s:sitemap/s:loc", SITEMAP_NS)]
        assert locs and all(loc.startswith(f"{SITE}/sitemap-") for loc in locs), locs


def test_robots_txt_points_at_absolute_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert f"Sitemap: {SITE}/sitemap.xml" in response.content.decode()


def test_robots_txt_does_not_name_a_moved_admin(client):
    # An operator who moves the admin (DJANGO_ADMIN_URL) does not want it listed.
    assert "/admin" not in client.get("/robots.txt").content.decode()
    login = client.get(reverse("admin:login")).content.decode()
    assert '<meta name="robots" content="noindex, nofollow">' in login


def test_tag_sitemap_dates_each_tag_by_its_newest_published_post(client):
    tag = TagFactory()
    now = timezone.now()
    PostFactory(tags=[tag], published_at=now - timedelta(days=3))
    newest = PostFactory(tags=[tag], published_at=now - timedelta(days=1))
    PostFactory(tags=[tag], published_at=now + timedelta(days=1))  # scheduled
    PostFactory(tags=[TagFactory()], status=Post.Status.DRAFT)  # a tag with no post
    page = ElementTree.fromstring(client.get("/sitemap-tags.xml").content)
    urls = page.findall("s:url", SITEMAP_NS)
    assert [u.find("s:loc", SITEMAP_NS).text for u in urls] == [
        SITE + tag.get_absolute_url()
    ]
    lastmod = urls[0].find("s:lastmod", SITEMAP_NS).text
    assert lastmod == timezone.localtime(newest.published_at).date().isoformat()


def test_control_characters_pasted_into_a_post_leave_the_feeds_working(client):
    # One \x0b in a title or a body made every feed answer 500.
    tag = TagFactory(name="Py\x0bthon")
    post = PostFactory(
        title="Title\x0bwith VT \u202eevil",
        body="Pasted from Word:\x0cpage break and \x1b[31mansi\x1b[0m.",
        tags=[tag],
    )
    post.refresh_from_db()
    tag.refresh_from_db()
    assert post.title == "Title with VT evil"
    assert tag.name == "Py thon"
    assert "Word:␌page break and ␛[31mansi␛[0m." in post.body_html
    for url in (
        reverse("feed_atom"),
        reverse("feed_rss"),
        reverse("blog:tag_feed_atom", args=[tag.slug]),
    ):
        [entry] = parse(client, url).entries
        assert entry.title == "Title with VT evil"
    html = client.get(post.get_absolute_url()).content.decode()
    assert "\x0b" not in html and "\u202e" not in html


def test_the_pages_sitemap_costs_the_same_queries_however_many_authors(
    client, django_assert_max_num_queries
):
    # Each page's lastmod ran the same aggregate again.
    PostFactory.create_batch(6)
    with django_assert_max_num_queries(4):
        response = client.get("/sitemap-pages.xml")
    assert response.content.count(b"<lastmod>") == 9  # 3 pages and 6 authors
