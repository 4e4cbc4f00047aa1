import pytest
from django.template import engines
from django.urls import set_script_prefix
from django.utils import translation

from blog.models import Post
from blog.templatetags.blog_tags import post_meta, toc_items
from tests.factories import PostFactory, TagFactory


def test_constant_block_follows_the_active_language():
    template = engines["django"].from_string(
        '{% load blog_tags i18n %}{% constant %}{% translate "Skip to content" %}'
        "{% endconstant %}"
    )
    assert template.render() == "Skip to content"
    with translation.override("zh-hans"):
        assert template.render() == "跳到正文"
    assert template.render() == "Skip to content"


def test_toc_items_escape_heading_titles():
    html = toc_items([{"level": 2, "id": "a-b", "title": "<script>&"}])
    assert html == (
        '<li class="toc__item toc__item--h2">'
        '<a href="#a-b">&lt;script&gt;&amp;</a></li>'
    )


def test_toc_items_show_a_rendered_title_when_there_is_one():
    html = toc_items(
        [{"level": 3, "id": "x", "title": r"\alpha", "html": "<math>α</math>"}]
    )
    assert html == (
        '<li class="toc__item toc__item--h3"><a href="#x"><math>α</math></a></li>'
    )


@pytest.mark.django_db
def test_list_meta_follows_the_language_and_script_prefix():
    """Reading times and tag links are kept per language and script prefix."""
    post = PostFactory(tags=[TagFactory(name="深度学习")])
    post = Post.objects.for_list().get(pk=post.pk)
    english = post_meta(post)
    assert "1 min read" in english
    assert 'href="/tags/%E6%B7%B1%E5%BA%A6%E5%AD%A6%E4%B9%A0/"' in english
    with translation.override("zh-hans"):
        assert "1 分钟读完" in post_meta(post)
    set_script_prefix("/blog/")
    try:
        assert 'href="/blog/tags/%E6%B7%B1%E5%BA%A6%E5%AD%A6%E4%B9%A0/"' in (
            post_meta(post)
        )
    finally:
        set_script_prefix("/")
    assert post_meta(post) == english


@pytest.mark.django_db
def test_list_meta_escapes_tag_names():
    post = PostFactory(tags=[TagFactory(name='<b>"x"</b>', slug="x")])
    html = post_meta(Post.objects.for_list().get(pk=post.pk))
    assert '<a class="tag" href="/tags/x/" rel="tag">&lt;b&gt;&quot;x&quot;' in html
