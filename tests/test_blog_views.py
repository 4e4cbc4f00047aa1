import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.conf import settings
from django.contrib.messages.storage.base import BaseStorage
from django.db import connection
from django.test import override_settings
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from blog.models import Post, Tag
from blog.views import PREPARED_STATEMENTS, article
from tests.factories import PostFactory, TagFactory, UserFactory, links

pytestmark = pytest.mark.django_db


def hidden_posts(**kwargs):
    draft = PostFactory(title="Secret draft", status=Post.Status.DRAFT, **kwargs)
    scheduled = PostFactory(
        title="Future post", published_at=timezone.now() + timedelta(hours=1), **kwargs
    )
    return draft, scheduled


def test_home_lists_published_posts_newest_first(client):
    old = PostFactory(
        title="Older post", published_at=timezone.now() - timedelta(days=2)
    )
    new = PostFactory(
        title="Newer post", published_at=timezone.now() - timedelta(days=1)
    )
    response = client.get(reverse("blog:post_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Latest updates" in html
    assert html.index(new.title) < html.index(old.title)
    assert new.get_absolute_url() in html


def test_home_entry_shows_excerpt_date_and_tag_links(client):
    tag = TagFactory(name="Python")
    post = PostFactory(body="梯度下降是一种优化算法。", tags=[tag])
    html = client.get(reverse("blog:post_list")).content.decode()
    assert post.excerpt in html
    assert post.published_at.strftime("%Y-%m-%d") in html
    assert f'href="{tag.get_absolute_url()}" rel="tag"' in html


def test_drafts_and_scheduled_posts_are_hidden_everywhere(client):
    author = UserFactory()
    tag = TagFactory()
    draft, scheduled = hidden_posts(author=author, tags=[tag])
    PostFactory(title="Visible post", author=author, tags=[tag])
    for url in (
        reverse("blog:post_list"),
        tag.get_absolute_url(),
        author.get_absolute_url(),
    ):
        html = client.get(url).content.decode()
        assert "Visible post" in html, url
        assert "Secret draft" not in html, url
        assert "Future post" not in html, url
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(scheduled.get_absolute_url()).status_code == 404


def test_pagination_ten_per_page_with_rel_links(client):
    PostFactory.create_batch(23)
    first = client.get(reverse("blog:post_list"))
    assert len(first.context["posts"]) == 10
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' not in first.content.decode()
    middle = client.get(reverse("blog:post_list"), {"page": 2}).content.decode()
    assert 'href="/" rel="prev"' in middle
    assert 'href="?page=3" rel="next"' in middle
    last = client.get(reverse("blog:post_list"), {"page": 3})
    assert len(last.context["posts"]) == 3


@pytest.mark.parametrize(
    "page", ["0", "-1", "4", "abc", "1.5", "99999999999999999999", ""]
)
def test_bad_page_numbers_are_404(client, page):
    PostFactory.create_batch(23)
    assert client.get(reverse("blog:post_list"), {"page": page}).status_code in (
        (404,) if page else (200,)
    )


def test_article_page_shows_body_author_tags_and_neighbours(client):
    tag = TagFactory(name="PyTorch")
    older = PostFactory(title="Older", published_at=timezone.now() - timedelta(days=3))
    post = PostFactory(
        title="DDP 快速上手",
        body="## 环境准备\n\n推荐使用官方打好的镜像，避免环境问题。\n\n```python\nprint('hi')\n```",
        tags=[tag],
        published_at=timezone.now() - timedelta(days=2),
    )
    newer = PostFactory(title="Newer", published_at=timezone.now() - timedelta(days=1))
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="post-title">DDP 快速上手</h1>' in html
    assert post.author.get_absolute_url() in html
    assert tag.get_absolute_url() in html
    assert "print" in html
    assert [response.context["previous_post"]] == links(older)
    assert [response.context["next_post"]] == links(newer)
    # The page keeps the interface's language; the article declares its own.
    assert '<html lang="en">' in html
    assert '<article class="post" lang="zh-hans">' in html


@pytest.mark.parametrize(
    ("display_name", "first_name", "last_name", "shown"),
    [
        ("Ada L.", "Ada", "Lovelace", "Ada L."),
        ("", "Ada", "Lovelace", "Ada Lovelace"),
        ("", "", "", "ada"),
    ],
)
def test_article_byline_shows_the_authors_name(
    client, display_name, first_name, last_name, shown
):
    author = UserFactory(
        username="ada",
        display_name=display_name,
        first_name=first_name,
        last_name=last_name,
    )
    html = client.get(PostFactory(author=author).get_absolute_url()).content.decode()
    assert f'rel="author">{shown}</a>' in html
    assert f'"name": "{shown}"' in html


def test_article_neighbours_skip_hidden_posts(client):
    post = PostFactory(published_at=timezone.now() - timedelta(days=1))
    hidden_posts()
    response = client.get(post.get_absolute_url())
    assert response.context["previous_post"] is None
    assert response.context["next_post"] is None


def test_article_links_its_neighbours_and_related_posts_escaped(client):
    tag = TagFactory()
    first = PostFactory(
        title="<b>First</b>", tags=[tag], published_at=timezone.now() - timedelta(3)
    )
    middle = PostFactory(published_at=timezone.now() - timedelta(2))
    last = PostFactory(
        title="Last & best", tags=[tag], published_at=timezone.now() - timedelta(1)
    )
    html = client.get(middle.get_absolute_url()).content.decode()
    assert (
        f'<a class="post-nav__prev" href="{first.get_absolute_url()}" rel="prev">'
        '<span class="post-nav__label">← Previous</span>'
        '<span class="visually-hidden">: </span><span>&lt;b&gt;First&lt;/b&gt;</span></a>'
    ) in html
    assert (
        '<span class="post-nav__label">Next →</span>'
        '<span class="visually-hidden">: </span><span>Last &amp; best</span></a>'
    ) in html
    assert 'class="related"' not in html  # middle shares no tag
    html = client.get(first.get_absolute_url()).content.decode()
    # No previous post: an empty span keeps the next link in its place.
    assert '<nav class="post-nav" aria-label="More posts">\n  <span></span>' in html
    assert 'class="related"' not in html  # related posts are older ones
    html = client.get(last.get_absolute_url()).content.decode()
    assert "post-nav__next" not in html
    assert "&lt;b&gt;First&lt;/b&gt;</a> <time" in html  # related


def test_article_words_follow_the_language(client, settings):
    tag = TagFactory()
    headings = "".join(f"## Part {n}\n\nText.\n\n" for n in range(3))
    post = PostFactory(body=headings, tags=[tag], published_at=timezone.now())
    PostFactory(tags=[tag], published_at=timezone.now() - timedelta(1))
    english = client.get(post.get_absolute_url()).content.decode()
    assert '<nav class="toc" aria-label="Table of contents">' in english
    assert ">Related posts</h2>" in english
    settings.LANGUAGE_CODE = "zh-hans"
    chinese = client.get(post.get_absolute_url()).content.decode()
    assert '<h2 class="toc__title" lang="zh-hans">目录</h2>' in chinese
    assert ">相关文章</h2>" in chinese
    assert '<span class="post-nav__label">← 上一篇</span>' in chinese
    assert 'aria-label="更多文章"' in chinese


def test_dates_follow_the_site_time_zone(client, settings):
    settings.PAGE_CACHE_ENABLED = False  # its key holds no time zone: it cannot change
    post = PostFactory(published_at=datetime(2026, 1, 31, 20, 0, tzinfo=UTC))
    html = client.get(post.get_absolute_url()).content.decode()
    assert '<time datetime="2026-01-31T20:00:00+00:00">2026-01-31</time>' in html
    settings.TIME_ZONE = "Asia/Shanghai"
    html = client.get(post.get_absolute_url()).content.decode()
    assert '<time datetime="2026-02-01T04:00:00+08:00">2026-02-01</time>' in html
    settings.TIME_ZONE = "UTC"
    assert timezone.localtime(post.published_at).hour == 20


def test_article_body_is_placed_once_whatever_the_post_says(client):
    mark = "<!--post-body-->"
    post = PostFactory(
        title=f"{mark} 标题",
        summary=mark,
        body=f"正文 {mark} here.\n\n```html\n{mark}\n```\n\nThe end 结束.",
    )
    html = client.get(post.get_absolute_url()).content.decode()
    assert mark not in html
    body = html.split('<div class="post-body">', 1)[1].split("</article>", 1)[0]
    assert body.startswith("<p>正文 ")
    assert "&lt;!--post-body--&gt;" in body
    assert body.rstrip().endswith("<p>The end 结束.</p>\n</div>")
    assert html.count('<div class="post-body">') == 1
    assert '<h1 class="post-title">&lt;!--post-body--&gt; 标题</h1>' in html


def test_article_statement_loads_the_post_as_the_orm_does():
    """The article's prepared statement comes in binary format, with its own loaders:
    every value it sets equals the ORM's, type and time zone included."""
    post = PostFactory(
        title="量化 · Quantization",
        body="# 标题一\n\n## Section two\n\n![图](/media/uploads/a.webp)\n\n`code` 正文",
        tags=[TagFactory()],
    )
    loaded = article(post.slug)
    orm = Post.objects.get(pk=post.pk)
    for field in Post._meta.concrete_fields:
        if field.attname in loaded.__dict__:
            value = getattr(loaded, field.attname)
            assert value == getattr(orm, field.attname), field.attname
            assert type(value) is type(getattr(orm, field.attname)), field.attname
    assert loaded.published_at.tzinfo == orm.published_at.tzinfo
    assert loaded.toc and loaded.toc == orm.toc
    assert loaded.body_html_utf8 == orm.body_html.encode()
    assert "body_html" not in loaded.__dict__
    assert loaded.first_image_url == orm.first_image_url == "/media/uploads/a.webp"


def test_chinese_slug_url_resolves(client):
    post = PostFactory(title="大模型中的幻觉问题")
    assert client.get(post.get_absolute_url()).status_code == 200
    tag = TagFactory(name="机器学习")
    PostFactory(tags=[tag])
    assert client.get(tag.get_absolute_url()).status_code == 200


def test_unknown_tag_and_author_are_404(client):
    assert client.get(reverse("blog:tag_detail", args=["nope"])).status_code == 404
    assert (
        client.get(reverse("accounts:author_detail", args=["nobody"])).status_code
        == 404
    )


def test_accounts_without_published_posts_have_no_author_page(client):
    # The page told anyone which usernames exist (the admin's, say).
    reader = UserFactory(username="reader")
    staff = UserFactory(username="limited", is_staff=True)
    PostFactory(author=staff, status=Post.Status.DRAFT)
    for user in (reader, staff):
        assert client.get(user.get_absolute_url()).status_code == 404
    PostFactory(author=staff)
    assert client.get(staff.get_absolute_url()).status_code == 200


def test_a_tag_only_unpublished_posts_carry_is_not_shown(client):
    secret = TagFactory(name="Unannounced")
    draft, scheduled = hidden_posts(tags=[secret])
    urls = [
        secret.get_absolute_url(),
        reverse("blog:tag_feed_atom", args=[secret.slug]),
        reverse("blog:tag_feed_rss", args=[secret.slug]),
    ]
    assert [client.get(url).status_code for url in urls] == [404, 404, 404]
    Post.objects.filter(pk=scheduled.pk).update(published_at=timezone.now())
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]


def test_author_page_lists_their_posts(client):
    author = UserFactory(display_name="林小墨")
    PostFactory(title="Mine", author=author)
    PostFactory(title="Someone else's")
    html = client.get(author.get_absolute_url()).content.decode()
    assert "林小墨" in html
    assert "Mine" in html
    assert "Someone else" not in html


def test_home_query_count_does_not_grow_with_posts(client, django_assert_num_queries):
    tags = TagFactory.create_batch(3)
    PostFactory.create_batch(12, tags=tags)
    # content token, count, posts with their tags
    with django_assert_num_queries(3):
        client.get(reverse("blog:post_list"))
    PostFactory.create_batch(12, tags=TagFactory.create_batch(5))
    with django_assert_num_queries(3):
        client.get(reverse("blog:post_list"), {"page": 2})


def test_tag_page_query_count(client, django_assert_num_queries):
    tag = TagFactory()
    PostFactory.create_batch(15, tags=[tag, TagFactory()])
    # content token, tag, count, posts with their tags
    with django_assert_num_queries(4):
        client.get(tag.get_absolute_url())


def test_article_query_count(client, django_assert_num_queries):
    tags = TagFactory.create_batch(4)
    PostFactory.create_batch(3, tags=tags[:2])
    post = PostFactory(tags=tags)
    # content token; the post with its author, tags, neighbours and related posts
    with django_assert_num_queries(2):
        response = client.get(post.get_absolute_url())
    assert len(response.context["related_posts"]) == 3
    assert response.content.decode().count("<li><a href=") >= 3


needs_prepared_statements = pytest.mark.skipif(
    not settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold"),
    reason="DATABASE_PREPARED_STATEMENTS is off",
)


def prepared_article_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%WITH post AS%"],
        )
        return cursor.fetchone()[0]


@needs_prepared_statements
def test_article_statement_is_prepared_once_per_connection(client):
    first, second = PostFactory.create_batch(2, tags=[TagFactory()])
    for post in (first, second, first):
        response = client.get(post.get_absolute_url())
        assert response.status_code == 200
        assert post.title in response.content.decode()
    assert prepared_article_statements() == 1


def test_article_without_prepared_statements_is_the_same_page(client):
    post = PostFactory(tags=TagFactory.create_batch(2))
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None  # DATABASE_PREPARED_STATEMENTS=0
    try:
        unprepared = client.get(post.get_absolute_url()).content
        assert prepared_article_statements() == 0
    finally:
        connection.connection.prepare_threshold = threshold
    assert client.get(post.get_absolute_url()).content == unprepared


def alter_title(column_type: str) -> None:
    """Change blog_post.title's type from another session, as a deploy's migrate
    does while the running app keeps its connections."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute(f"ALTER TABLE blog_post ALTER COLUMN title TYPE {column_type}")


@pytest.mark.django_db(transaction=True)
def test_article_survives_a_migration_under_its_prepared_statement(client):
    first, second = PostFactory.create_batch(2)
    assert client.get(first.get_absolute_url()).status_code == 200
    alter_title("text")
    try:
        response = client.get(second.get_absolute_url())
        assert response.status_code == 200
        assert second.title in response.content.decode()
    finally:
        alter_title("varchar(200)")


def test_connections_keep_the_reader_statements_and_few_query_texts():
    connection.ensure_connection()
    assert connection.connection.prepared_max == len(PREPARED_STATEMENTS)


@needs_prepared_statements
def test_reader_statements_stay_prepared_with_their_generic_plans(client, settings):
    """Articles, the home page and tag pages in turn: each statement is prepared
    once, not again at every switch, and runs the plan PostgreSQL keeps."""
    settings.PAGE_CACHE_ENABLED = False
    tag = TagFactory()
    post = PostFactory(tags=[tag])
    paths = [post.get_absolute_url(), reverse("blog:post_list"), tag.get_absolute_url()]
    names = set()
    for _ in range(3):
        for path in paths:
            assert client.get(path).status_code == 200
            with connection.cursor() as cursor:
                cursor.execute("SELECT name FROM pg_prepared_statements")
                names.update(name for (name,) in cursor.fetchall())
    # One statement a page, and two for the tag page (its tag, then its posts).
    assert len(names) == len(paths) + 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


@pytest.mark.parametrize(("value", "threshold"), [(None, 5), ("false", None)])
def test_prepared_statements_can_be_switched_off(value, threshold):
    code = (
        "from config import settings;"
        "print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"}
    if value is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = value
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(threshold)


def test_previous_and_next_break_ties_on_id(client):
    at = timezone.now() - timedelta(days=1)
    first, second, third = (PostFactory(published_at=at) for _ in range(3))
    PostFactory(title="Draft", status=Post.Status.DRAFT, published_at=at)
    context = client.get(second.get_absolute_url()).context
    assert [context["previous_post"], context["next_post"]] == links(first, third)
    context = client.get(first.get_absolute_url()).context
    assert context["previous_post"] is None
    assert [context["next_post"]] == links(second)


def test_404_page_is_styled(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "site-header" in response.content.decode()


@override_settings(DEBUG=False)
def test_500_page_is_styled(client, monkeypatch):
    from blog import views

    def explode(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.PostListView, "get_queryset", explode)
    client.raise_request_exception = False
    response = client.get(reverse("blog:post_list"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_interface_language_follows_language_code(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    PostFactory()
    html = client.get(reverse("blog:post_list")).content.decode()
    assert "最新文章" in html
    assert "跳到正文" in html


def test_article_head_describes_the_post_for_search_engines_and_social(
    client, settings
):
    settings.TIME_ZONE = "Asia/Shanghai"
    published = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    post = PostFactory(
        title="Tricky </script><b>title</b> & more",
        published_at=published,
        tags=[TagFactory(name="Python")],
    )
    html = client.get(post.get_absolute_url()).content.decode()
    assert (
        '<meta property="article:published_time" content="2026-03-02T00:30:00+08:00">'
        in html
    )
    assert '<meta property="article:tag" content="Python">' in html
    assert (
        '<meta property="og:title" content="Tricky &lt;/script&gt;&lt;b&gt;title'
        in html
    )
    assert html.count("</script>") == html.count("<script")
    payload = html.split('<script type="application/ld+json">')[1].split("</script>")[0]
    data = json.loads(payload)
    assert data["headline"] == post.title
    assert data["datePublished"] == "2026-03-01T16:30:00+00:00"
    assert data["keywords"] == "Python"
    assert f"© {timezone.localdate().year} " in html


def test_article_shares_its_first_image_not_one_shown_as_code(client, settings):
    settings.SITE_URL = "https://blog.example"
    code_only = PostFactory(body='Markup:\n\n```html\n<img src="/not-this.png">\n```\n')
    html = client.get(code_only.get_absolute_url()).content.decode()
    assert '<meta name="twitter:card" content="summary">' in html
    assert "og:image" not in html
    post = PostFactory(
        body='```html\n<img src="/not-this.png">\n```\n\n'
        "![A plot](/media/uploads/plot.png?v=1&s=2)\n\n![Later](/media/later.png)\n"
    )
    html = client.get(post.get_absolute_url()).content.decode()
    image = "https://blog.example/media/uploads/plot.png?v=1&amp;s=2"
    assert f'<meta property="og:image" content="{image}">' in html
    assert f'<meta name="twitter:image" content="{image}">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    payload = html.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert json.loads(payload)["image"] == (
        "https://blog.example/media/uploads/plot.png?v=1&s=2"
    )


def test_tag_page_title_is_translated_and_escaped(client, settings):
    tag = TagFactory(name="<深度学习>")
    PostFactory(tags=[tag])
    html = client.get(tag.get_absolute_url()).content.decode()
    assert "<title>Posts tagged “&lt;深度学习&gt;” · " in html
    assert '<meta name="description" content="Posts tagged “&lt;深度学习&gt;”">' in html
    settings.LANGUAGE_CODE = "zh-hans"
    html = client.get(tag.get_absolute_url()).content.decode()
    assert "<title>标签为“&lt;深度学习&gt;”的文章 · " in html


def test_lists_and_articles_link_under_the_script_prefix(client):
    """Mounted at /blog/ (FORCE_SCRIPT_NAME or a proxy's SCRIPT_NAME), every post and
    tag link of the list entries and related posts starts with it. (The test
    client does not set the script prefix as the WSGI handler does.)"""
    tag = TagFactory(name="Python", slug="python")
    older = PostFactory(slug="older", tags=[tag])
    newer = PostFactory(slug="newer", tags=[tag])
    set_script_prefix("/blog/")
    try:
        home = client.get("/", SCRIPT_NAME="/blog").content.decode()
        article = client.get("/posts/newer/", SCRIPT_NAME="/blog").content.decode()
    finally:
        set_script_prefix("/")
    assert 'href="/blog/posts/newer/"' in home
    assert 'href="/blog/posts/older/"' in home
    assert 'href="/blog/tags/python/"' in home
    assert '<li><a href="/blog/posts/older/">' in article  # related
    assert 'href="/posts/' not in home + article
    assert 'href="/tags/' not in home + article
    home = client.get("/").content.decode()
    assert 'href="/posts/newer/"' in home
    assert older.get_absolute_url() == "/posts/older/"
    assert newer.get_absolute_url("/blog/") == "/blog/posts/newer/"


def current_nav_items(response) -> list[str]:
    nav = response.content.decode().split('<nav class="site-nav"')[1].split("</nav>")[0]
    return [
        part.split(">")[1].split("<")[0]
        for part in nav.split("<a ")[1:]
        if 'aria-current="page"' in part.split(">")[0]
    ]


def test_header_marks_the_current_section_only_on_its_own_page(client):
    tag = TagFactory(name="Python")
    post = PostFactory(tags=[tag])
    pages = {
        reverse("blog:post_list"): ["Latest"],
        reverse("blog:tag_list"): ["Tags"],
        reverse("blog:archive_index"): ["Archive"],
        post.get_absolute_url(): [],
        tag.get_absolute_url(): [],
        reverse("blog:post_list") + "?page=1": ["Latest"],
    }
    # Twice over: the header is rendered once per section and then reused.
    for _ in range(2):
        for path, current in pages.items():
            response = client.get(path)
            assert response.status_code == 200
            assert current_nav_items(response) == current, path
    assert current_nav_items(client.get("/no-such-page/")) == []


def test_a_reader_page_sets_no_message_cookie_or_session(client):
    """Reader pages never make the message storage (LazyMessageMiddleware)."""
    post = PostFactory()
    response = client.get(post.get_absolute_url())
    assert response.cookies == {}
    assert not isinstance(response.wsgi_request._messages._wrapped, BaseStorage)


def test_search_pages_are_canonical_with_their_words_and_a_404_with_none(
    client, settings
):
    settings.SITE_URL = "https://blog.example"
    PostFactory.create_batch(12, title="Post about torch")
    html = client.get("/search/?q=torch&page=2&utm_source=x").content.decode()
    canonical = "https://blog.example/search/?q=torch&amp;page=2"
    assert f'<link rel="canonical" href="{canonical}">' in html
    # A parameter the page does not read is not in its canonical URL.
    post = PostFactory(title="Plain")
    html = client.get(post.get_absolute_url() + "?p=3&q=spam").content.decode()
    assert f'href="https://blog.example{post.get_absolute_url()}">' in html
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert 'rel="canonical"' not in missing.content.decode()
    assert "og:url" not in missing.content.decode()


def test_interface_words_and_chinese_names_are_marked_with_their_language(client):
    # In an English page, Chinese tags and titles were read with an English voice;
    # in a Chinese article, "4 min read" and "Contents" with a Chinese one.
    tag = TagFactory(name="深度学习")
    older = PostFactory(
        title="注意力机制", tags=[tag], published_at=timezone.now() - timedelta(days=2)
    )
    post = PostFactory(
        title="讲解",
        body="## 一\n\n中文正文。\n\n## 二\n\n更多中文。\n\n## 三\n\n结束。",
        tags=[tag],
        published_at=timezone.now() - timedelta(days=1),
    )
    html = client.get(post.get_absolute_url()).content.decode()
    assert '<article class="post" lang="zh-hans">' in html
    assert '<p class="post-meta" lang="en">' in html
    assert '<h2 class="toc__title" lang="en">Contents</h2>' in html
    assert 'rel="tag" lang="zh-hans">深度学习</a>' in html
    assert f'<span lang="zh-hans">{older.title}</span>' in html
    tags = client.get(reverse("blog:tag_list")).content.decode()
    assert '<span lang="zh-hans">深度学习</span>' in tags
    TagFactory(name="日本語のタグ")
    TagFactory(name="한국어")
    PostFactory(tags=list(Tag.objects.filter(name__in=["日本語のタグ", "한국어"])))
    tags = client.get(reverse("blog:tag_list")).content.decode()
    assert '<span lang="ja">日本語のタグ</span>' in tags
    assert '<span lang="ko">한국어</span>' in tags
