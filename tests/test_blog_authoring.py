from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blog.models import Post, SlugRedirect
from tests.factories import PostFactory, UserFactory
from tests.test_blog_admin import post_form

pytestmark = pytest.mark.django_db


def test_scheduled_post_appears_by_itself_at_its_time_and_not_a_second_earlier(
    client, monkeypatch
):
    at = timezone.now() + timedelta(minutes=2)
    post = PostFactory(title="Monday post", published_at=at)
    frozen = {"now": at - timedelta(seconds=1)}
    monkeypatch.setattr(timezone, "now", lambda: frozen["now"])
    assert "Monday post" not in client.get(reverse("blog:post_list")).content.decode()
    assert client.get(post.get_absolute_url()).status_code == 404
    assert "Monday post" not in client.get(reverse("feed_atom")).content.decode()
    frozen["now"] = at
    assert "Monday post" in client.get(reverse("blog:post_list")).content.decode()
    assert client.get(post.get_absolute_url()).status_code == 200
    assert "Monday post" in client.get(reverse("feed_atom")).content.decode()
    posts_sitemap = reverse("sitemap_section", args=["posts"])
    assert post.get_absolute_url() in client.get(posts_sitemap).content.decode()


@pytest.mark.parametrize("scheduled", [False, True])
def test_staff_preview_of_unpublished_post_is_marked_and_noindex(
    staff_client, scheduled
):
    client = Client()
    if scheduled:
        post = PostFactory(published_at=timezone.now() + timedelta(days=3))
    else:
        post = PostFactory(status=Post.Status.DRAFT)
    assert client.get(post.get_absolute_url()).status_code == 404
    response = staff_client.get(post.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "preview-banner" in html
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_non_staff_user_cannot_preview(client, user):
    post = PostFactory(status=Post.Status.DRAFT)
    client.force_login(user)
    assert client.get(post.get_absolute_url()).status_code == 404


def test_published_post_page_is_not_marked_preview(staff_client):
    post = PostFactory()
    html = staff_client.get(post.get_absolute_url()).content.decode()
    assert "preview-banner" not in html
    assert "noindex" not in html


def test_slug_is_frozen_after_publishing_when_title_changes():
    post = PostFactory(title="Original title")
    post.title = "A better title"
    post.save()
    assert post.slug == "original-title"


def test_changed_slug_of_published_post_redirects_permanently(client):
    post = PostFactory(title="Old name")
    old_url = post.get_absolute_url()
    post.slug = "new-name"
    post.save()
    response = client.get(old_url)
    assert response.status_code == 301
    assert response["Location"] == "/posts/new-name/"
    post.slug = "newest-name"
    post.save()
    assert client.get(old_url)["Location"] == "/posts/newest-name/"
    assert client.get("/posts/new-name/")["Location"] == "/posts/newest-name/"
    # Campaign tags and the like go along.
    response = client.get(old_url + "?utm_source=feed&x=%E4%B8%AD")
    assert response["Location"] == "/posts/newest-name/?utm_source=feed&x=%E4%B8%AD"


def test_changing_slug_of_draft_makes_no_redirect():
    post = PostFactory(status=Post.Status.DRAFT, title="Draft")
    post.slug = "draft-2"
    post.save()
    assert not SlugRedirect.objects.exists()


def test_a_new_post_does_not_take_the_slug_of_an_old_url_that_redirects(client):
    post = PostFactory(title="Taken")
    post.slug = "moved"
    post.save()
    newcomer = PostFactory(title="Taken")
    assert newcomer.slug == "taken-2"
    assert client.get("/posts/taken/")["Location"] == "/posts/moved/"


def test_the_admin_refuses_a_slug_that_redirects_to_another_post(
    staff_client, staff_user
):
    post = PostFactory(title="Attention")
    post.slug = "attention-renamed"
    post.save()
    response = staff_client.post(
        reverse("admin:blog_post_add"),
        post_form(staff_user, title="Another", slug="attention"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["slug"]
    assert "old address of “Attention”" in errors[0]
    redirect = staff_client.get("/posts/attention/")
    assert redirect["Location"] == "/posts/attention-renamed/"
    assert not Post.objects.filter(title="Another").exists()


def test_a_post_may_take_back_its_own_old_slug(client):
    post = PostFactory(title="Round trip")
    post.slug = "elsewhere"
    post.save()
    post.slug = "round-trip"
    post.save()
    assert client.get("/posts/round-trip/").status_code == 200
    assert client.get("/posts/elsewhere/")["Location"] == "/posts/round-trip/"


def test_redirect_to_unpublished_post_is_404_for_readers(client):
    post = PostFactory(title="Was public")
    post.slug = "hidden-now"
    post.save()
    post.status = Post.Status.DRAFT
    post.save()
    assert client.get("/posts/was-public/").status_code == 404


def test_every_save_keeps_a_revision_and_admin_restores_it(staff_client, staff_user):
    post = PostFactory(body="First version", author=staff_user)
    post.body = "Second version"
    post.save()
    assert post.history.count() == 2
    history_url = reverse("admin:blog_post_history", args=[post.pk])
    html = staff_client.get(history_url).content.decode()
    assert "-First version" in html
    assert "+Second version" in html
    first = post.history.earliest()
    revert_url = reverse(
        "admin:blog_post_simple_history", args=[post.pk, first.history_id]
    )
    form = staff_client.get(revert_url)
    assert form.status_code == 200
    now = timezone.localtime(post.published_at)
    response = staff_client.post(
        revert_url,
        {
            "title": post.title,
            "slug": post.slug,
            "author": staff_user.pk,
            "body": "First version",
            "summary": "",
            "tag_names": "",
            "language": "",
            "status": "published",
            "published_at_0": now.strftime("%Y-%m-%d"),
            "published_at_1": now.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.body == "First version"
    assert "First version" in post.body_html
    assert post.history.count() == 3


def test_history_records_who_changed_the_post(staff_client, staff_user):
    post = PostFactory(author=staff_user)
    now = timezone.localtime(post.published_at)
    staff_client.post(
        reverse("admin:blog_post_change", args=[post.pk]),
        {
            "title": "Edited",
            "slug": post.slug,
            "author": staff_user.pk,
            "body": "edited body",
            "tag_names": "",
            "language": "",
            "status": "published",
            "published_at_0": now.strftime("%Y-%m-%d"),
            "published_at_1": now.strftime("%H:%M:%S"),
        },
    )
    assert post.history.latest().history_user == staff_user


def test_author_page_renders_markdown_bio_and_website(client):
    author = UserFactory(
        bio="I write about **CUDA**. <script>x</script>", website="https://example.com"
    )
    PostFactory(author=author)
    html = client.get(author.get_absolute_url()).content.decode()
    assert "<strong>CUDA</strong>" in html
    assert "<script>x" not in html
    assert 'href="https://example.com"' in html


def test_author_page_is_paginated(client):
    author = UserFactory()
    PostFactory.create_batch(12, author=author)
    assert len(client.get(author.get_absolute_url()).context["posts"]) == 10
    second = client.get(author.get_absolute_url(), {"page": 2})
    assert len(second.context["posts"]) == 2


def test_admin_page_includes_editor_backup_script(staff_client):
    html = staff_client.get(reverse("admin:blog_post_add")).content.decode()
    assert "js/editor-backup.js" in html


def publish_in_admin(staff_client, staff_user, post, when=None):
    """Save `post` as published from its change form, its date as the form showed it
    unless `when` is given."""
    shown = timezone.localtime(post.published_at)
    sent = timezone.localtime(when or post.published_at)
    data = post_form(
        staff_user,
        title=post.title,
        slug=post.slug,
        body=post.body,
        tag_names="",
        published_at_0=sent.strftime("%Y-%m-%d"),
        published_at_1=sent.strftime("%H:%M:%S"),
        # As the browser sends them: the date field has a callable default, so the
        # form carries the value it showed, to tell whether the author changed it.
        **{
            "initial-published_at_0": shown.strftime("%Y-%m-%d"),
            "initial-published_at_1": shown.strftime("%H:%M:%S"),
        },
    )
    url = reverse("admin:blog_post_change", args=[post.pk])
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    post.refresh_from_db()
    return post


def test_publishing_a_draft_stamps_it_with_the_moment_it_is_published(
    staff_client, staff_user
):
    days_ago = timezone.now() - timedelta(days=3)
    draft = PostFactory(status=Post.Status.DRAFT, published_at=days_ago)
    post = publish_in_admin(staff_client, staff_user, draft)
    assert timezone.now() - post.published_at < timedelta(minutes=1)


def test_a_date_the_author_sets_while_publishing_is_kept(staff_client, staff_user):
    draft = PostFactory(status=Post.Status.DRAFT, published_at=timezone.now())
    backdated = timezone.now().replace(microsecond=0) - timedelta(days=30)
    post = publish_in_admin(staff_client, staff_user, draft, when=backdated)
    assert post.published_at == backdated


def test_a_draft_dated_in_the_future_is_scheduled_when_published(
    staff_client, staff_user
):
    later = timezone.now().replace(microsecond=0) + timedelta(days=2)
    draft = PostFactory(status=Post.Status.DRAFT, published_at=later)
    assert publish_in_admin(staff_client, staff_user, draft).published_at == later


def test_editing_a_published_post_keeps_its_date(staff_client, staff_user):
    posted = timezone.now().replace(microsecond=0) - timedelta(days=3)
    post = PostFactory(published_at=posted)
    assert publish_in_admin(staff_client, staff_user, post).published_at == posted
