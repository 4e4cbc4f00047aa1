import io
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from blog import frontmatter
from blog.models import Post, Tag
from tests.factories import PostFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STORED_IMAGE = re.compile(r"/media/uploads/\d{4}/\d{2}/[0-9a-f]{24}_\d+x\d+\.webp")


@pytest.fixture(autouse=True)
def media_url(settings):
    settings.MEDIA_URL = "/media/"


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(command, *args):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(command, *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(excinfo.value)


def media_files(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def tag_names(post: Post) -> list[str]:
    return sorted(post.tags.values_list("name", flat=True))


def webp_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 120, 200)).save(buffer, "WEBP")
    return buffer.getvalue()


def test_import_hugo_site_with_page_bundle_and_static_images(staff_user, settings):
    settings.TIME_ZONE = "Asia/Shanghai"

    out, err = run("import_posts", FIXTURES / "hugo")

    assert "Imported 3: created 3, updated 0, unchanged 0, failed 0" in out
    assert "created: content/posts/first-post.md -> first-post" in out
    assert set(Post.objects.values_list("slug", flat=True)) == {
        "first-post",
        "cat-bundle",
        "draft-notes",
    }

    post = Post.objects.get(slug="first-post")
    assert post.title == "Profiling Django queries"
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at == datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    assert post.updated_at == datetime(2024, 3, 5, 1, 30, tzinfo=UTC)
    assert post.summary == "Find the slow query first."
    assert post.author == staff_user
    assert tag_names(post) == ["Django", "Python", "Web"]
    [plan] = STORED_IMAGE.findall(post.body)
    assert plan.startswith("/media/uploads/2024/03/")
    assert plan.endswith("_6x4.webp")
    assert f'![Query plan]({plan} "Plan")' in post.body
    assert default_storage.exists(plan.removeprefix("/media/"))
    assert f'src="{plan}"' in post.body_html
    assert "![Remote](https://example.com/remote.png)" in post.body
    assert "![Fake](/images/fake.png)" in post.body
    assert "![Gone](missing.png)" in post.body
    assert "```markdown\n![Left alone](/images/diagram.png)\n```" in post.body
    assert "content/posts/first-post.md: image /images/fake.png not imported" in err
    assert "content/posts/first-post.md: image missing.png not found" in err

    bundle = Post.objects.get(slug="cat-bundle")
    assert bundle.title == "猫的照片"
    assert bundle.published_at == datetime(2024, 4, 2, 8, 0, tzinfo=SHANGHAI)
    assert tag_names(bundle) == sorted(["摄影", "生活"])
    assert re.search(rf"!\[猫\]\({STORED_IMAGE.pattern}\)", bundle.body)

    notes = Post.objects.get(slug="draft-notes")
    assert notes.title == "Draft notes"
    assert notes.status == Post.Status.DRAFT
    assert notes.published_at == datetime(2024, 5, 6, tzinfo=SHANGHAI)
    assert tag_names(notes) == ["notes"]

    assert not Post.objects.filter(title="Posts").exists()


def test_import_jekyll_site_takes_slug_and_date_from_file_names(staff_user, settings):
    settings.TIME_ZONE = "UTC"

    out, err = run("import_posts", FIXTURES / "jekyll")

    assert "Imported 2: created 2, updated 0, unchanged 0, failed 0" in out
    post = Post.objects.get(slug="my-post")
    assert post.title == "My Jekyll post"
    assert post.status == Post.Status.DRAFT
    assert post.published_at == datetime(2024, 1, 2, 0, 30, tzinfo=UTC)
    assert post.summary == "A short excerpt."
    assert tag_names(post) == ["jekyll", "notes", "ruby"]
    assert re.search(rf"!\[Photo\]\({STORED_IMAGE.pattern}\)", post.body)

    jane = post.author
    assert (jane.username, jane.display_name) == ("jane-doe", "Jane Doe")
    assert not jane.has_usable_password()

    second = Post.objects.get(slug="second-post")
    assert second.published_at == datetime(2024, 1, 10, tzinfo=UTC)
    assert second.status == Post.Status.PUBLISHED
    assert second.author == jane
    assert get_user_model().objects.count() == 2
    # Only _posts is read when the site has one: about.md is a page.
    assert not Post.objects.filter(title="About").exists()


def test_import_hexo_site_adds_categories_as_tags(staff_user, settings):
    settings.TIME_ZONE = "Asia/Shanghai"

    out, err = run("import_posts", FIXTURES / "hexo")

    assert "Imported 2: created 2, updated 0, unchanged 0, failed 0" in out
    post = Post.objects.get(slug="hexo-post")
    assert post.title == "Hexo 入门"
    assert post.language == Post.Language.CHINESE
    assert post.published_at == datetime(2024, 2, 3, 12, 0, tzinfo=SHANGHAI)
    assert post.updated_at == datetime(2024, 2, 4, 9, 0, tzinfo=SHANGHAI)
    assert tag_names(post) == sorted(["JavaScript", "前端", "技术", "随笔"])
    assert Tag.objects.count() == 4
    [logo] = STORED_IMAGE.findall(post.body)
    assert default_storage.exists(logo.removeprefix("/media/"))
    assert Post.objects.get(slug="unfinished").status == Post.Status.DRAFT
    assert err == ""


def test_wide_image_is_stored_once_with_its_variants(staff_user, settings, tmp_path):
    Image.new("RGB", (1000, 10), (0, 0, 0)).save(tmp_path / "wide.jpg")
    (tmp_path / "wide.md").write_text(
        "---\ntitle: Wide\ndate: 2023-07-08\n---\n![wide](wide.jpg)\n"
    )

    run("import_posts", tmp_path)
    out, _ = run("import_posts", tmp_path)

    assert "unchanged 1" in out
    [url] = STORED_IMAGE.findall(Post.objects.get().body)
    stem = url.removeprefix("/media/").removesuffix(".webp")
    assert stem.startswith("uploads/2023/07/") and stem.endswith("_1000x10")
    assert [p.name for p in media_files(settings)] == [
        f"{stem.rsplit('/', 1)[1]}-800.webp",
        f"{stem.rsplit('/', 1)[1]}.webp",
    ]


def test_broken_files_are_reported_and_their_siblings_imported(staff_user):
    out, err, error = run_failing("import_posts", FIXTURES / "broken")

    assert "invalid-yaml.md: invalid YAML front matter:" in err
    assert "(line 3)" in err
    assert "no-title.md: no title in the front matter" in err
    assert "latin1.md: not UTF-8 text (byte 0xe9" in err
    assert "empty.md: empty file" in err
    assert "junk.md: binary data" in err
    assert "Imported 6: created 1, updated 0, unchanged 0, failed 5" in out
    assert error == "5 of 6 files could not be imported."
    assert list(Post.objects.values_list("title", flat=True)) == ["The good one"]


def test_a_bad_date_fails_only_its_post(staff_user, tmp_path):
    (tmp_path / "bad.md").write_text("---\ntitle: Bad\ndate: someday\n---\nx\n")
    (tmp_path / "good.md").write_text("---\ntitle: Good\n---\nx\n")

    out, err, _ = run_failing("import_posts", tmp_path)

    assert "bad.md: date: “someday” is not a date; skipped" in err
    assert list(Post.objects.values_list("slug", flat=True)) == ["good"]


def test_two_files_with_one_slug_fail_the_second(staff_user, tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: A\nslug: same\n---\nx\n")
    (tmp_path / "b.md").write_text("---\ntitle: B\nslug: same\n---\nx\n")

    out, err, _ = run_failing("import_posts", tmp_path)

    assert "b.md: slug “same” is already used by a.md; skipped" in err
    assert Post.objects.get().title == "A"


def test_chinese_file_name_becomes_the_slug(staff_user, tmp_path):
    (tmp_path / "机器学习入门.md").write_text(
        "---\ntitle: 机器学习入门\ntags: 机器学习，深度学习\n---\n正文。\n",
        encoding="utf-8",
    )

    run("import_posts", tmp_path)

    post = Post.objects.get(slug="机器学习入门")
    assert post.title == "机器学习入门"
    assert tag_names(post) == sorted(["机器学习", "深度学习"])


def test_byte_order_mark_and_windows_line_ends_are_accepted(staff_user, tmp_path):
    text = "---\r\ntitle: Windows\r\ntags: [a, b]\r\n---\r\n\r\nLine one.\r\nTwo.\r\n"
    (tmp_path / "windows.md").write_bytes(text.encode("utf-8-sig"))

    run("import_posts", tmp_path)

    post = Post.objects.get(slug="windows")
    assert (post.title, post.body) == ("Windows", "Line one.\nTwo.")
    assert tag_names(post) == ["a", "b"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=SHANGHAI)),
        ("2024-03-01 10:00:00", datetime(2024, 3, 1, 10, tzinfo=SHANGHAI)),
        ("2024-03-01T10:00:00+08:00", datetime(2024, 3, 1, 2, tzinfo=UTC)),
        ('"2024-03-01T10:00:00Z"', datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01 10:00:00 +0000", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024/03/01 10:00", datetime(2024, 3, 1, 10, tzinfo=SHANGHAI)),
    ],
)
def test_front_matter_dates_in_many_formats(
    staff_user, settings, tmp_path, written, expected
):
    settings.TIME_ZONE = "Asia/Shanghai"
    (tmp_path / "post.md").write_text(f"---\ntitle: Dated\ndate: {written}\n---\nx\n")

    run("import_posts", tmp_path)

    assert Post.objects.get().published_at == expected


def test_importing_again_changes_nothing(staff_user, settings):
    run("import_posts", FIXTURES / "hugo")
    run("import_posts", FIXTURES / "jekyll")
    before = {p.slug: (p.pk, p.body, p.updated_at) for p in Post.objects.all()}
    files = media_files(settings)
    counts = (Tag.objects.count(), get_user_model().objects.count())

    out, _ = run("import_posts", FIXTURES / "hugo")
    jekyll_out, _ = run("import_posts", FIXTURES / "jekyll")

    assert "Imported 3: created 0, updated 0, unchanged 3, failed 0" in out
    assert "unchanged: content/posts/cat-bundle/index.md -> cat-bundle" in out
    assert "Imported 2: created 0, updated 0, unchanged 2, failed 0" in jekyll_out
    after = {p.slug: (p.pk, p.body, p.updated_at) for p in Post.objects.all()}
    assert after == before
    assert media_files(settings) == files
    assert (Tag.objects.count(), get_user_model().objects.count()) == counts


def test_importing_an_edited_file_updates_its_post(staff_user, tmp_path):
    site = tmp_path / "hugo"
    shutil.copytree(FIXTURES / "hugo", site)
    run("import_posts", site)
    post = Post.objects.get(slug="cat-bundle")
    path = site / "content" / "posts" / "cat-bundle" / "index.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("title: 猫的照片", "title: 两只猫")
    path.write_text(text.replace("tags: 摄影, 生活", "tags: 摄影"), encoding="utf-8")

    dry_out, _ = run("import_posts", site, "--dry-run")
    assert "would update: content/posts/cat-bundle/index.md -> cat-bundle" in dry_out
    assert Post.objects.get(pk=post.pk).title == "猫的照片"

    out, _ = run("import_posts", site)

    assert "updated: content/posts/cat-bundle/index.md -> cat-bundle" in out
    assert "Imported 3: created 0, updated 1, unchanged 2, failed 0" in out
    post.refresh_from_db()
    assert post.title == "两只猫"
    assert tag_names(post) == ["摄影"]
    assert Post.objects.count() == 3


def test_dry_run_writes_nothing(staff_user, settings):
    users = get_user_model().objects.count()

    out, _ = run("import_posts", FIXTURES / "jekyll", "--dry-run")

    assert "would create: _posts/2024-01-02-my-post.md -> my-post" in out
    assert (
        "Dry run, nothing written. "
        "Would import 2: created 2, updated 0, unchanged 0, failed 0"
    ) in out
    assert Post.objects.count() == 0
    assert Tag.objects.count() == 0
    assert get_user_model().objects.count() == users
    assert media_files(settings) == []

    run("import_posts", FIXTURES / "jekyll")
    out, _ = run("import_posts", FIXTURES / "jekyll", "--dry-run")
    assert "unchanged 2" in out


def test_author_option_sets_the_default_author(staff_user, user):
    run("import_posts", FIXTURES / "hugo", "--author", user.username)

    assert {post.author for post in Post.objects.all()} == {user}


def test_import_needs_a_default_author(user):
    _, _, error = run_failing("import_posts", FIXTURES / "hugo")

    assert "--author USERNAME" in error
    assert Post.objects.count() == 0


def test_replace_images_skips_code_and_keeps_titles():
    body = (
        '![a](one.png "One") and `![b](two.png)`\n\n'
        "    ![c](three.png)\n\n"
        "![d](<four five.png>)"
    )

    result = frontmatter.replace_images(body, lambda url: f"/media/{url}")

    assert result == (
        '![a](/media/one.png "One") and `![b](two.png)`\n\n'
        "    ![c](three.png)\n\n"
        "![d](</media/four five.png>)"
    )


def comparable(post: Post) -> dict:
    return {
        "title": post.title,
        "slug": post.slug,
        "body": frontmatter.replace_images(
            post.body, lambda url: "IMAGE" if url.startswith("/media/") else None
        ),
        "summary": post.summary,
        "status": post.status,
        "language": post.language,
        "published_at": post.published_at.replace(microsecond=0),
        "updated_at": post.updated_at.replace(microsecond=0),
        "tags": tag_names(post),
        "author": post.author.username,
    }


def test_export_then_import_into_an_empty_database_reproduces_posts(
    staff_user, settings, tmp_path
):
    settings.TIME_ZONE = "Asia/Shanghai"
    alice = UserFactory(username="alice", display_name="Alice")
    bob = UserFactory(username="鲍勃")
    python, ml = TagFactory(name="Python"), TagFactory(name="机器学习")
    image_name = default_storage.save(
        "uploads/2024/05/0123456789abcdef01234567_4x3.webp", ContentFile(webp_bytes())
    )
    PostFactory(
        title="深度学习笔记",
        author=bob,
        tags=[ml, python],
        summary="摘要：一篇笔记。",
        language=Post.Language.CHINESE,
        published_at=datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC),
        body=(
            f'## 引言\n\n![图]({default_storage.url(image_name)} "图一")\n\n'
            "正文 $E=mc^2$。\n\n![远程](https://example.com/a.png)"
        ),
    )
    PostFactory(
        title="A draft",
        slug="Custom_Slug-1",
        author=alice,
        status=Post.Status.DRAFT,
        body="Draft *body*.\n\n```python\nprint('hi')\n```",
    )
    PostFactory(
        title="Scheduled",
        author=alice,
        published_at=timezone.now() + timedelta(days=3),
        tags=[python],
    )
    PostFactory(title="No tags, no summary", author=alice, language="en")
    expected = {post.slug: comparable(post) for post in Post.objects.all()}

    out, _ = run("export_posts", tmp_path / "export")

    assert "Exported 4 posts and 1 image to" in out
    exported = (tmp_path / "export" / "深度学习笔记.md").read_text(encoding="utf-8")
    assert exported.startswith("---\ntitle: 深度学习笔记\nslug: 深度学习笔记\n")
    assert "date: 2024-05-01T17:30:15+08:00\n" in exported
    assert "draft: false\n" in exported
    assert "author: 鲍勃\n" in exported
    assert "language: zh-hans\n" in exported
    assert '![图](images/0123456789abcdef01234567_4x3.webp "图一")' in exported
    assert (
        tmp_path / "export" / "images" / "0123456789abcdef01234567_4x3.webp"
    ).read_bytes() == webp_bytes()
    assert "draft: true\n" in (tmp_path / "export" / "Custom_Slug-1.md").read_text()

    Post.objects.all().delete()
    Tag.objects.all().delete()
    get_user_model().objects.exclude(pk=staff_user.pk).delete()
    default_storage.delete(image_name)

    out, _ = run("import_posts", tmp_path / "export")

    assert "Imported 4: created 4, updated 0, unchanged 0, failed 0" in out
    assert {post.slug: comparable(post) for post in Post.objects.all()} == expected
    body = Post.objects.get(slug="深度学习笔记").body
    [image_url] = STORED_IMAGE.findall(body)
    assert default_storage.exists(image_url.removeprefix("/media/"))
    assert Tag.objects.count() == 2
    assert get_user_model().objects.count() == 3
