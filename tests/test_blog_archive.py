import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Post
from tests.factories import PostFactory, TagFactory, links

pytestmark = pytest.mark.django_db


def at(year, month, day=15):
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_archive_index_shows_months_with_counts(client):
    PostFactory.create_batch(2, published_at=at(2026, 3))
    PostFactory(published_at=at(2025, 12))
    PostFactory(published_at=at(2025, 11), status=Post.Status.DRAFT)
    html = client.get(reverse("blog:archive_index")).content.decode()
    assert "/archive/2026/03/" in html
    assert "(2)" in html
    assert "/archive/2025/12/" in html
    assert "/archive/2025/11/" not in html


def test_month_and_year_archives(client):
    PostFactory(title="March post", published_at=at(2026, 3))
    PostFactory(title="April post", published_at=at(2026, 4))
    month = client.get(reverse("blog:post_month_archive", args=[2026, 3]))
    assert month.status_code == 200
    assert "March post" in month.content.decode()
    assert "April post" not in month.content.decode()
    year = client.get(reverse("blog:post_year_archive", args=[2026])).content.decode()
    assert "March post" in year and "April post" in year


@pytest.mark.parametrize(
    "path",
    ["/archive/2019/", "/archive/2026/13/", "/archive/99999/", "/archive/2026/00/"],
)
def test_empty_or_invalid_archive_is_404(client, path):
    PostFactory(published_at=at(2026, 3))
    assert client.get(path).status_code == 404


def test_archive_hides_future_posts(client):
    future = timezone.now() + timedelta(days=40)
    PostFactory(title="Future", published_at=future)
    response = client.get(
        reverse("blog:post_month_archive", args=[future.year, future.month])
    )
    assert response.status_code == 404


def test_tag_index_shows_counts_of_published_posts(client):
    python = TagFactory(name="Python")
    empty = TagFactory(name="EmptyTag")
    PostFactory.create_batch(3, tags=[python])
    PostFactory(tags=[python], published_at=timezone.now() + timedelta(hours=1))
    PostFactory(tags=[empty], status=Post.Status.DRAFT)
    html = client.get(reverse("blog:tag_list")).content.decode()
    assert "Python" in html
    assert '<span class="count">3</span>' in html
    assert "EmptyTag" not in html


def test_archive_and_tags_are_linked_from_every_page(client):
    post = PostFactory()
    for url in (reverse("blog:post_list"), post.get_absolute_url(), "/nope/"):
        html = client.get(url).content.decode()
        assert 'href="/archive/"' in html
        assert 'href="/tags/"' in html
        assert '<form class="search-form" role="search"' in html
        assert 'name="q"' in html


def test_related_posts_ranked_by_shared_tags_then_recency(
    client, django_assert_max_num_queries
):
    """Among the posts published before the article (its list never changes when
    newer posts come, see migration 0007)."""
    a, b, c = TagFactory.create_batch(3)
    post = PostFactory(tags=[a, b, c], published_at=at(2026, 6))
    PostFactory(title="Newer", tags=[a, b, c], published_at=at(2026, 7))
    two_shared = PostFactory(title="Two shared", tags=[a, b], published_at=at(2024, 1))
    one_recent = PostFactory(title="One recent", tags=[c], published_at=at(2026, 1))
    one_old = PostFactory(title="One old", tags=[a], published_at=at(2023, 1))
    PostFactory(title="Nothing shared")
    PostFactory(title="Hidden", tags=[a, b, c], status=Post.Status.DRAFT)
    PostFactory(
        title="Scheduled",
        tags=[a, b, c],
        published_at=timezone.now() + timedelta(days=1),
    )
    response = client.get(post.get_absolute_url())
    assert response.context["related_posts"] == links(two_shared, one_recent, one_old)


def test_related_posts_follow_tag_changes_of_the_candidates(client):
    a, b, c = TagFactory.create_batch(3)
    post = PostFactory(tags=[a, b, c], published_at=at(2026, 6))
    old = PostFactory(title="Old", tags=[a], published_at=at(2023, 1))
    new = PostFactory(title="New", tags=[b], published_at=at(2025, 1))
    newest = PostFactory(title="Newest", tags=[c], published_at=at(2026, 1))

    def related():
        return client.get(post.get_absolute_url()).context["related_posts"]

    assert related() == links(newest, new, old)
    old.tags.add(b, c)
    assert related() == links(old, newest, new)
    new.tags.add(TagFactory(), c)
    assert related() == links(old, new, newest)
    old.tags.remove(b, c)
    assert related() == links(new, newest, old)
    c.delete()
    assert related() == links(new, old)


def test_related_posts_may_all_come_from_one_tag(client):
    """Each tag's candidates are cut to their own top five before the union is
    ranked; all five may come from one tag, ahead of another's newest."""
    a, b = TagFactory.create_batch(2)
    post = PostFactory(tags=[a, b], published_at=at(2026, 9))
    only_a = [
        PostFactory(title=f"A {month}", tags=[a], published_at=at(2026, month))
        for month in range(1, 7)
    ]
    PostFactory(title="B", tags=[b], published_at=at(2025, 1))
    both = PostFactory(title="Both", tags=[a, b], published_at=at(2020, 1))
    response = client.get(post.get_absolute_url())
    newest_a = sorted(only_a, key=lambda p: p.published_at, reverse=True)[:4]
    assert response.context["related_posts"] == links(both, *newest_a)


def test_related_posts_come_from_the_first_ten_tags_by_name(client):
    tags = [TagFactory(name=f"tag {n:02d}") for n in range(11)]
    post = PostFactory(tags=tags, published_at=at(2026, 6))
    first = PostFactory(
        title="Shares the first", tags=tags[:1], published_at=at(2025, 1)
    )
    PostFactory(
        title="Shares only the eleventh", tags=tags[10:], published_at=at(2025, 2)
    )
    response = client.get(post.get_absolute_url())
    assert response.context["related_posts"] == links(first)
    assert len(response.context["post"].tag_list) == 11


def test_related_posts_follow_publishing_and_unpublishing(client):
    tag = TagFactory()
    post = PostFactory(tags=[tag], published_at=at(2026, 6))
    draft = PostFactory(
        title="Earlier", tags=[tag], status=Post.Status.DRAFT, published_at=at(2025, 1)
    )
    assert client.get(post.get_absolute_url()).context["related_posts"] == []
    draft.status = Post.Status.PUBLISHED
    draft.save()
    assert client.get(post.get_absolute_url()).context["related_posts"] == links(draft)
    Post.objects.filter(pk=draft.pk).update(status=Post.Status.DRAFT)
    assert client.get(post.get_absolute_url()).context["related_posts"] == []


def test_article_metadata(client, settings):
    settings.SITE_URL = "https://blog.example.com"
    post = PostFactory(
        title="LoRA 微调实践",
        body="低秩适配的中文说明，这里有很多中文内容。\n\n![架构图](/media/uploads/x.webp)",
        tags=[TagFactory(name="LLM")],
    )
    html = client.get(post.get_absolute_url() + "?utm_source=x").content.decode()
    canonical = f"https://blog.example.com{post.get_absolute_url()}"
    assert f'<link rel="canonical" href="{canonical}">' in html
    assert "utm_source" not in html.split('rel="canonical"')[1].split(">")[0]
    assert f'<meta name="description" content="{post.excerpt}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert 'content="https://blog.example.com/media/uploads/x.webp"' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    # The page keeps the interface's language; the article declares its own.
    assert '<html lang="en">' in html
    assert '<article class="post" lang="zh-hans">' in html
    data = json.loads(
        re.search(
            r'<script type="application/ld\+json">(.*?)</script>', html, re.S
        ).group(1)
    )
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == "LoRA 微调实践"
    assert data["author"]["name"] == post.author.name
    assert data["keywords"] == "LLM"
    assert data["datePublished"]


def test_json_ld_cannot_break_out_of_script(client):
    post = PostFactory(title="</script><script>alert(1)</script>")
    html = client.get(post.get_absolute_url()).content.decode()
    assert "<script>alert(1)" not in html
