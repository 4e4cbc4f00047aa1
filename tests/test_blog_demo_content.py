import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from blog import markdown
from blog.models import Post, Tag
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

DEMO_FILES = sorted((Path(__file__).parents[1] / "blog" / "demo_posts").glob("*.md"))


def load_demo_content() -> str:
    out = io.StringIO()
    call_command("load_demo_content", stdout=out)
    return out.getvalue()


def test_loads_one_published_post_per_demo_file():
    output = load_demo_content()
    assert len(DEMO_FILES) >= 25
    assert Post.objects.count() == len(DEMO_FILES)
    assert Post.objects.published().count() == len(DEMO_FILES)
    assert f"Loaded {len(DEMO_FILES)} demo posts." in output


def test_demo_author_is_not_staff_and_cannot_log_in():
    load_demo_content()
    author = get_user_model().objects.get(username="inkstone")
    assert author.display_name == "Inkstone 编辑部"
    assert author.bio
    assert not author.is_staff
    assert not author.has_usable_password()
    assert set(Post.objects.values_list("author", flat=True)) == {author.pk}


def test_demo_posts_mix_chinese_and_english():
    load_demo_content()
    languages = list(Post.objects.values_list("detected_language", flat=True))
    assert set(languages) == {"zh-hans", "en"}
    assert languages.count("zh-hans") > languages.count("en")


def test_demo_posts_share_a_small_set_of_tags():
    load_demo_content()
    tags = Tag.objects.annotate(post_count=Count("posts"))
    assert 0 < len(tags) < Post.objects.count()
    assert all(tag.post_count > 0 for tag in tags)
    assert max(tag.post_count for tag in tags) > 1


def test_demo_posts_have_distinct_dates_spanning_more_than_six_months():
    load_demo_content()
    dates = list(Post.objects.values_list("published_at", flat=True))
    assert len(set(dates)) == len(dates)
    assert max(dates) - min(dates) > timedelta(days=183)


def test_every_demo_post_renders_without_warnings():
    load_demo_content()
    for post in Post.objects.all():
        assert post.body_html, post.slug
        assert markdown.render(post.body).warnings == [], post.slug


def test_posts_without_a_slug_get_a_chinese_url(client):
    load_demo_content()
    chinese = [post for post in Post.objects.all() if not post.slug.isascii()]
    assert chinese
    for post in chinese:
        response = client.get(post.get_absolute_url())
        assert response.status_code == 200
        assert post.title in response.content.decode()


def test_dollar_prices_in_prose_stay_text():
    load_demo_content()
    post = Post.objects.get(body__contains="between $5 and $10")
    assert "between $5 and $10" in post.body_html


def test_second_run_leaves_the_demo_posts_alone():
    load_demo_content()
    count = Post.objects.count()
    output = load_demo_content()
    assert "Database already has posts; demo content not loaded." in output
    assert Post.objects.count() == count


def test_never_loads_into_a_database_that_has_posts():
    post = PostFactory()
    output = load_demo_content()
    assert "Database already has posts; demo content not loaded." in output
    assert list(Post.objects.all()) == [post]
    assert not get_user_model().objects.filter(username="inkstone").exists()
