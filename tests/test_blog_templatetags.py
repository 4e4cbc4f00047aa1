from django.template import engines
from django.utils import translation

from blog.templatetags.blog_tags import toc_items


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
