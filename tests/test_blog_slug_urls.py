import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

from blog.slug_urls import slug_url

CASES = [
    ("blog:post_detail", "slug", "flash-attention"),
    ("blog:post_detail", "slug", "大模型中的幻觉问题"),
    ("blog:tag_detail", "slug", "python"),
    ("blog:tag_detail", "slug", "深度学习"),
    ("accounts:author_detail", "username", "ada.lovelace"),
    ("accounts:author_detail", "username", "名字 with space"),
]


@pytest.mark.parametrize("prefix", ["/", "/blog/"])
@pytest.mark.parametrize(("name", "kwarg", "value"), CASES)
def test_slug_url_is_exactly_what_reverse_gives(prefix, name, kwarg, value):
    set_script_prefix(prefix)
    try:
        assert slug_url(name, kwarg, value) == reverse(name, kwargs={kwarg: value})
    finally:
        set_script_prefix("/")


def test_slug_url_refuses_what_reverse_refuses():
    with pytest.raises(NoReverseMatch):
        slug_url("blog:tag_detail", "slug", "a/b")
