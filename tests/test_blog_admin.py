import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from blog.forms import PostBodyWidget
from blog.models import Post, Tag
from tests.factories import PostFactory, TagFactory

pytestmark = pytest.mark.django_db


def post_form(author, **overrides):
    now = timezone.localtime()
    data = {
        "title": "注意力机制详解",
        "slug": "",
        "author": author.pk,
        "body": "## 公式\n\n$$QK^T$$",
        "summary": "",
        "tag_names": "Python, 深度学习",
        "language": "",
        "status": Post.Status.PUBLISHED,
        "published_at_0": now.strftime("%Y-%m-%d"),
        "published_at_1": now.strftime("%H:%M:%S"),
    }
    data.update(overrides)
    return data


def test_admin_add_post_creates_new_tags_and_appears_first_on_home(
    staff_client, staff_user
):
    PostFactory(title="Earlier post")
    TagFactory(name="Python")
    response = staff_client.post(reverse("admin:blog_post_add"), post_form(staff_user))
    assert response.status_code == 302, response.context["adminform"].form.errors
    post = Post.objects.get(title="注意力机制详解")
    assert post.slug == "注意力机制详解"
    assert sorted(t.name for t in post.tags.all()) == ["Python", "深度学习"]
    assert Tag.objects.filter(name="Python").count() == 1
    home = staff_client.get(reverse("blog:post_list")).content.decode()
    assert home.index("注意力机制详解") < home.index("Earlier post")


def test_admin_change_and_delete_post(staff_client, staff_user):
    post = PostFactory(author=staff_user, tags=[TagFactory(name="Old")])
    change_url = reverse("admin:blog_post_change", args=[post.pk])
    page = staff_client.get(change_url)
    assert page.status_code == 200
    assert 'value="Old"' in page.content.decode()
    response = staff_client.post(
        change_url,
        post_form(
            staff_user,
            title="Renamed",
            slug=post.slug,
            body="New **body**",
            tag_names="New",
        ),
    )
    assert response.status_code == 302
    # The message storage is made on first use (LazyMessageMiddleware): the admin's
    # message still reaches the next page.
    changelist = staff_client.get(response.url).content.decode()
    assert "was changed successfully" in changelist
    post.refresh_from_db()
    assert post.title == "Renamed"
    assert "<strong>body</strong>" in post.body_html
    assert [t.name for t in post.tags.all()] == ["New"]
    delete_url = reverse("admin:blog_post_delete", args=[post.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Post.objects.filter(pk=post.pk).exists()


def test_admin_invalid_form_keeps_what_was_typed(staff_client, staff_user):
    data = post_form(staff_user, title="", body="Everything I typed")
    response = staff_client.post(reverse("admin:blog_post_add"), data)
    assert response.status_code == 200
    assert "Everything I typed" in response.content.decode()
    assert not Post.objects.exists()


def test_admin_list_shows_status_and_scheduled(staff_client):
    PostFactory(
        title="Planned", published_at=timezone.now() + timezone.timedelta(days=2)
    )
    html = staff_client.get(reverse("admin:blog_post_changelist")).content.decode()
    assert "Planned" in html
    assert "Scheduled" in html


def test_admin_requires_login(client):
    response = client.get(reverse("admin:blog_post_changelist"))
    assert response.status_code == 302


def test_markdownx_endpoints_are_staff_only(client, user):
    for name in ("markdownx_markdownify", "markdownx_upload"):
        assert client.post(reverse(name), {"content": "x"}).status_code == 302
    client.force_login(user)
    for name in ("markdownx_markdownify", "markdownx_upload"):
        assert client.post(reverse(name), {"content": "x"}).status_code == 302


def test_markdownx_preview_matches_saved_post(staff_client):
    post = PostFactory(body="Hello **there**\n\n- a\n- b")
    response = staff_client.post(
        reverse("markdownx_markdownify"),
        {"content": post.body},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert response.status_code == 200
    assert (
        response.content.decode() == f'<div lang="{post.lang}">{post.body_html}</div>'
    )


def test_oversized_post_is_refused_with_a_message_and_text_kept(
    staff_client, staff_user
):
    from blog import markdown

    body = "长" * (markdown.MAX_SOURCE_CHARS + 1)
    response = staff_client.post(
        reverse("admin:blog_post_add"), post_form(staff_user, body=body)
    )
    assert response.status_code == 200
    assert "the limit is" in response.content.decode()
    assert body in response.content.decode()
    assert not Post.objects.exists()


def test_bad_tex_is_saved_and_shown_as_source(staff_client, staff_user):
    response = staff_client.post(
        reverse("admin:blog_post_add"),
        post_form(staff_user, body="Broken: $\\frac{1}{$ and fine $x^2$"),
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert "math-error" in post.body_html
    assert "<math" in post.body_html


def test_image_without_alt_text_is_refused_with_the_text_kept(staff_client, staff_user):
    body = "Look:\n\n![](/media/uploads/2026/11/abc_800x600.webp)\n"
    response = staff_client.post(
        reverse("admin:blog_post_add"), post_form(staff_user, body=body)
    )
    assert response.status_code == 200
    assert "Describe every image" in response.content.decode()
    assert "/media/uploads/2026/11/abc_800x600.webp" in response.content.decode()
    assert not Post.objects.exists()
    ok = post_form(staff_user, body=body.replace("![]", "![Loss curve]"))
    assert staff_client.post(reverse("admin:blog_post_add"), ok).status_code == 302


def test_image_syntax_in_code_needs_no_alt_text(staff_client, staff_user):
    # A post about Markdown could not show ![](…) in its code.
    body = (
        "Write `![](x.png)` for an image, never:\n\n"
        "```markdown\n![](https://example.com/no-alt.png)\n```\n\n"
        "    ![ ](indented.png)\n"
    )
    response = staff_client.post(
        reverse("admin:blog_post_add"), post_form(staff_user, body=body)
    )
    assert response.status_code == 302
    assert "![](https://example.com/no-alt.png)" in Post.objects.get().body


def test_editor_offers_an_image_button_beside_drag_and_paste(staff_client):
    html = staff_client.get(reverse("admin:blog_post_add")).content.decode()
    assert (
        '<button type="button" class="button" aria-describedby="id_body_upload_help">'
        "Insert image…</button>"
    ) in html
    assert '<input type="file" accept="image/*" multiple hidden>' in html
    assert 'id="id_body_upload_help">Drag or paste images into the text' in html
    assert "js/markdownx-upload.js" in html


def test_image_button_is_translated():
    with translation.override("zh-hans"):
        html = PostBodyWidget().render("body", "", {"id": "id_body"})
    assert "插入图片…" in html
    assert "也可以用这个按钮选择图片" in html


def test_post_history_has_one_diff_column_and_never_shows_none(
    staff_client, staff_user
):
    # Made outside a request, as by import_posts: the first revision has no user.
    post = PostFactory(body="First line", author=staff_user)
    post.body = "First line\nSecond line"
    post.save()
    post.title = "Renamed"
    post._change_reason = "Fixed the title"
    post.save()
    response = staff_client.get(reverse("admin:blog_post_history", args=[post.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="change-history"')
    table = html[start : html.index("</table>", start)]
    headers = re.findall(r'<th scope="col">([^<]*)</th>', table)
    assert headers == ["Object", "Date/time", "Comment", "Changed by", "Changes"]
    assert "+Second line" in table
    assert "Fixed the title" in table
    assert "None" not in table
    # The diff column's styles (it wraps instead of widening the page).
    assert "css/admin.css" in html


def test_editor_scripts_get_their_words_from_a_catalogue_loaded_first(
    staff_client, staff_user, settings
):
    settings.LANGUAGE_CODE = "zh-hans"
    catalogue = reverse("inkstone_jsi18n")
    response = staff_client.get(catalogue)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    text = response.content.decode()
    assert '"Restore unsaved text": "\\u6062\\u590d' in text  # 恢复…
    assert "%(file)s\\uff1a%(reason)s" in text  # a full-width colon

    page = staff_client.get(reverse("admin:blog_post_add")).content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', page)
    backup = next(i for i, src in enumerate(scripts) if "editor-backup" in src)
    upload = next(i for i, src in enumerate(scripts) if "markdownx-upload" in src)
    assert scripts.index(catalogue) < min(backup, upload)

    assert Client().get(catalogue).status_code == 302  # to the admin's login


def test_saving_an_unchanged_date_keeps_it_to_the_microsecond(staff_client, staff_user):
    # The form shows whole seconds: each save cut the microseconds off and History
    # recorded "published_at: …:58.608110 → …:58".
    published = timezone.now() - timedelta(days=2)
    post = PostFactory(author=staff_user, published_at=published, body="Text")
    assert published.microsecond
    local = timezone.localtime(published)
    data = post_form(
        staff_user,
        title=post.title,
        slug=post.slug,
        body="Text, edited",
        tag_names="",
        published_at_0=local.strftime("%Y-%m-%d"),
        published_at_1=local.strftime("%H:%M:%S"),
    )
    url = reverse("admin:blog_post_change", args=[post.pk])
    assert staff_client.post(url, data).status_code == 302
    post.refresh_from_db()
    assert (post.body, post.published_at) == ("Text, edited", published)
    latest = post.history.first()
    changed = {c.field for c in latest.diff_against(latest.prev_record).changes}
    assert "body" in changed and "published_at" not in changed


def test_staff_without_post_permissions_cannot_preview_upload_or_read_drafts(client):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    limited = UserFactory(is_staff=True)
    draft = PostFactory(status=Post.Status.DRAFT)
    client.force_login(limited)
    assert (
        client.post(reverse("markdownx_markdownify"), {"content": "x"}).status_code
        == 403
    )
    assert client.post(reverse("markdownx_upload")).status_code == 403
    assert client.get(draft.get_absolute_url()).status_code == 404
    limited.user_permissions.add(Permission.objects.get(codename="change_post"))
    client.force_login(limited)
    assert (
        client.post(reverse("markdownx_markdownify"), {"content": "x"}).status_code
        == 200
    )
    assert client.get(draft.get_absolute_url()).status_code == 200


def test_preview_without_content_is_a_bad_request_not_an_error(staff_client):
    response = staff_client.post(reverse("markdownx_markdownify"), {})
    assert response.status_code == 400


def test_a_post_author_is_chosen_among_staff(staff_client, staff_user):
    from tests.factories import UserFactory

    reader = UserFactory(username="reader")
    html = staff_client.get(reverse("admin:blog_post_add")).content.decode()
    assert f'<option value="{staff_user.pk}"' in html
    assert f'<option value="{reader.pk}"' not in html
    # A post by someone no longer on the staff can still be edited.
    former = UserFactory(username="former")
    post = PostFactory(author=former)
    url = reverse("admin:blog_post_change", args=[post.pk])
    assert (
        f'<option value="{former.pk}" selected'
        in staff_client.get(url).content.decode()
    )


def test_a_tag_name_is_cleaned_before_its_unique_check(staff_client):
    TagFactory(name="Python")
    response = staff_client.post(
        reverse("admin:blog_tag_add"), {"name": "Python\u202e"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_a_history_version_that_is_not_a_number_is_not_found(staff_client):
    post = PostFactory()
    url = reverse("admin:blog_post_history", args=[post.pk]) + "abc/"
    assert staff_client.get(url).status_code == 404


def test_a_live_posts_slug_cannot_be_made_a_redirect(staff_client):
    live, other = PostFactory(slug="numpy-broadcasting"), PostFactory()
    response = staff_client.post(
        reverse("admin:blog_slugredirect_add"),
        {"old_slug": live.slug, "post": other.pk},
    )
    assert response.status_code == 200
    assert "A post has this slug" in response.content.decode()


def test_a_login_without_a_safe_next_goes_to_the_admin(client, staff_user):
    staff_user.set_password("correct horse battery staple")
    staff_user.save()
    response = client.post(
        reverse("admin:login") + "?next=https://evil.example/",
        {"username": staff_user.username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
