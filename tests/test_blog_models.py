from datetime import timedelta

import pytest
from django.utils import timezone

from blog.models import Post, PostTag, Tag
from tests.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_slug_is_suggested_from_english_title():
    post = PostFactory(title="FlashAttention: Fast and Exact!")
    assert post.slug == "flashattention-fast-and-exact"


def test_chinese_title_gets_readable_unicode_slug():
    post = PostFactory(title="大模型中的幻觉问题")
    assert post.slug == "大模型中的幻觉问题"
    assert (
        post.get_absolute_url()
        == "/posts/%E5%A4%A7%E6%A8%A1%E5%9E%8B%E4%B8%AD%E7%9A%84%E5%B9%BB%E8%A7%89%E9%97%AE%E9%A2%98/"
    )


def test_duplicate_titles_get_unique_slugs():
    first = PostFactory(title="LoRA 微调")
    second = PostFactory(title="LoRA 微调")
    assert first.slug == "lora-微调"
    assert second.slug == "lora-微调-2"


def test_title_without_slug_characters_still_gets_a_slug():
    assert PostFactory(title="!!!").slug == "post"


def test_chinese_tag_slug():
    tag = Tag.objects.create(name="机器学习")
    assert tag.slug == "机器学习"
    assert TagFactory(name="Deep Learning").slug == "deep-learning"


def test_published_excludes_drafts_and_scheduled_posts():
    visible = PostFactory()
    PostFactory(status=Post.Status.DRAFT)
    PostFactory(published_at=timezone.now() + timedelta(minutes=5))
    assert list(Post.objects.published()) == [visible]


def test_scheduled_post_is_flagged():
    post = PostFactory(published_at=timezone.now() + timedelta(days=1))
    assert post.is_scheduled
    assert not post.is_published


def test_body_is_rendered_once_on_save():
    post = PostFactory(body="# Title\n\nHello **world** <script>alert(1)</script>")
    assert "<strong>world</strong>" in post.body_html
    assert "<script" not in post.body_html
    Post.objects.filter(pk=post.pk).update(body="changed")
    assert "<strong>world</strong>" in Post.objects.get(pk=post.pk).body_html


def test_excerpt_is_plain_text():
    post = PostFactory(
        body="Some **bold** and [a link](https://example.com) & <b>html</b>."
    )
    assert "<strong>" not in post.excerpt
    assert "href" not in post.excerpt
    assert "**" not in post.excerpt
    assert "bold" in post.excerpt
    assert "a link" in post.excerpt


def test_summary_overrides_excerpt():
    post = PostFactory(body="Long body text", summary="A *short* summary")
    assert post.excerpt == "A short summary"


def test_chinese_post_language_is_detected():
    assert (
        PostFactory(body="这是一个关于机器学习的中文段落，讨论梯度下降。").lang
        == "zh-hans"
    )
    assert PostFactory(body="An English paragraph about gradient descent.").lang == "en"


def test_tagged_and_by_author():
    tag = TagFactory()
    post = PostFactory(tags=[tag])
    PostFactory()
    assert list(Post.objects.tagged(tag)) == [post]
    assert list(Post.objects.by_author(post.author)) == [post]


def tag_times(post):
    return set(PostTag.objects.filter(post=post).values_list("published_at", flat=True))


def test_post_tags_carry_the_publication_time_only_while_published():
    tags = TagFactory.create_batch(2)
    post = PostFactory(tags=tags)
    assert tag_times(post) == {post.published_at}
    later = post.published_at + timedelta(days=3)
    Post.objects.filter(pk=post.pk).update(published_at=later)
    assert tag_times(post) == {later}
    post.refresh_from_db()
    post.status = Post.Status.DRAFT
    post.save()
    assert tag_times(post) == {None}
    post.tags.add(TagFactory())
    assert tag_times(post) == {None}
    post.status = Post.Status.PUBLISHED
    post.save()
    assert tag_times(post) == {post.published_at}
    assert PostTag.objects.filter(post=post).count() == 3


def tag_ids_of_rows(post):
    """The post's tag ids as each of its post-tag rows carries them."""
    rows = PostTag.objects.filter(post=post)
    return {tuple(ids) for ids in rows.values_list("post_tag_ids", flat=True)}


def test_post_tag_rows_carry_their_posts_tag_ids_through_every_change():
    a, b, c = TagFactory.create_batch(3)
    post = PostFactory(tags=[a, b])
    other = PostFactory(tags=[])
    assert tag_ids_of_rows(post) == {tuple(sorted([a.pk, b.pk]))}
    post.tags.add(c)
    assert tag_ids_of_rows(post) == {tuple(sorted([a.pk, b.pk, c.pk]))}
    post.tags.remove(a)
    assert tag_ids_of_rows(post) == {tuple(sorted([b.pk, c.pk]))}
    b.delete()
    assert tag_ids_of_rows(post) == {(c.pk,)}
    # Rows moved by hand to another post: both posts' rows follow.
    PostTag.objects.filter(post=post).update(post=other)
    assert tag_ids_of_rows(post) == set()
    assert tag_ids_of_rows(other) == {(c.pk,)}
    PostTag.objects.filter(post=other).update(tag=a)
    assert tag_ids_of_rows(other) == {(a.pk,)}
    other.tags.set([])
    assert tag_ids_of_rows(other) == set()


def test_post_tag_ids_of_many_posts_inserted_in_one_statement():
    tags = TagFactory.create_batch(3)
    posts = PostFactory.create_batch(3, tags=[])
    PostTag.objects.bulk_create(
        PostTag(post=post, tag=tag)
        for n, post in enumerate(posts)
        for tag in tags[: n + 1]
    )
    for n, post in enumerate(posts):
        assert tag_ids_of_rows(post) == {tuple(sorted(t.pk for t in tags[: n + 1]))}


def test_tag_list_loaded_with_the_post_equals_the_relation(django_assert_num_queries):
    post = PostFactory(
        tags=[Tag.objects.create(name=n) for n in ("zeta", "Alpha", "模型")]
    )
    bare = PostFactory(tags=[])
    loaded = {
        p.pk: p for p in Post.objects.with_tags().filter(pk__in=[post.pk, bare.pk])
    }
    with django_assert_num_queries(0):
        tags = loaded[post.pk].tag_list
        assert loaded[bare.pk].tag_list == []
    assert [(t.pk, t.name, t.slug) for t in tags] == [
        (t.pk, t.name, t.slug) for t in post.tags.all()
    ]
    assert [t.get_absolute_url() for t in tags] == [
        t.get_absolute_url() for t in post.tags.all()
    ]
    # Without with_tags(), the property asks the database itself.
    assert Post.objects.get(pk=post.pk).tag_list == tags


def test_a_post_tag_reads_as_its_tag_where_the_admin_lists_it():
    # The admin's delete confirmation lists them under the post.
    post = PostFactory(tags=[TagFactory(name="机器学习")])
    assert [str(row) for row in PostTag.objects.filter(post=post)] == ["机器学习"]
