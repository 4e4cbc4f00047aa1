import io

import pytest
from django.core.management import call_command

from blog import markdown
from blog.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_rerender_posts_refreshes_only_stale_posts():
    current = PostFactory(body="**current**")
    stale = PostFactory(body="**stale**")
    Post.objects.filter(pk=stale.pk).update(renderer_version=0, body_html="old html")
    Post.objects.filter(pk=current.pk).update(body_html="kept as is")
    out = io.StringIO()
    call_command("rerender_posts", stdout=out)
    stale.refresh_from_db()
    current.refresh_from_db()
    assert stale.renderer_version == markdown.RENDERER_VERSION
    assert "<strong>stale</strong>" in stale.body_html
    assert current.body_html == "kept as is"
    assert "1/1 posts re-rendered" in out.getvalue()


def test_rerender_posts_when_everything_is_current():
    PostFactory()
    out = io.StringIO()
    call_command("rerender_posts", stdout=out)
    assert "All posts are current" in out.getvalue()


def test_rerender_posts_is_silent_at_verbosity_0_when_nothing_is_stale():
    # `make run` runs it on every start.
    PostFactory()
    out = io.StringIO()
    call_command("rerender_posts", verbosity=0, stdout=out)
    assert out.getvalue() == ""


def test_rerender_posts_does_not_change_updated_at():
    post = PostFactory()
    Post.objects.filter(pk=post.pk).update(renderer_version=0)
    before = Post.objects.get(pk=post.pk).updated_at
    call_command("rerender_posts", stdout=io.StringIO())
    assert Post.objects.get(pk=post.pk).updated_at == before
