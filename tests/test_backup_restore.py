"""scripts/backup.sh and scripts/restore.sh, round trip on a real temporary database."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent

SNAPSHOT = """
import json
from django.test import Client
from blog.models import Post
posts = list(Post.objects.order_by("slug").values_list("title", "slug", "body"))
client = Client(HTTP_HOST="localhost")
pages = {
    post.slug: client.get(post.get_absolute_url()).status_code
    for post in Post.objects.published()
}
print("SNAPSHOT" + json.dumps({"posts": posts, "pages": pages}))
"""

ADD_POSTS = """
from tests.factories import PostFactory
PostFactory(title="备份与恢复", body="中文正文，**粗体**和公式 $x^2$。")
PostFactory(title="Backups are only as good as restores", body="`pg_restore`")
"""


def admin_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("DATABASE_URL names no PostgreSQL server")
    return url


def execute(url: str, statement: str) -> None:
    # The maintenance database always exists, whatever DATABASE_URL names.
    with psycopg.connect(
        url, dbname="postgres", autocommit=True, connect_timeout=5
    ) as connection:
        connection.execute(statement)


@pytest.fixture
def site(tmp_path):
    """A migrated temporary database with demo posts, and a media directory."""
    url = admin_url()
    name = f"inkstone_backup_{secrets.token_hex(4)}"
    execute(url, f'CREATE DATABASE "{name}"')
    scheme, rest = url.split("://", 1)
    server = rest.split("/", 1)[0]
    query = "?" + url.split("?", 1)[1] if "?" in url else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"{scheme}://{server}/{name}{query}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": "backup-restore-test",
    }
    try:
        yield {"url": url, "name": name, "env": env, "media": tmp_path / "media"}
    finally:
        execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def snapshot(env: dict) -> dict:
    output = manage(env, "shell", "-c", SNAPSHOT)
    line = next(line for line in output.splitlines() if line.startswith("SNAPSHOT"))
    return json.loads(line.removeprefix("SNAPSHOT"))


def script(name: str, env: dict, *args: str) -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def files(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_backup_then_restore_into_an_empty_database_gives_back_posts_and_media(
    site, tmp_path
):
    env = site["env"]
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_demo_content")
    manage(env, "shell", "-c", ADD_POSTS)
    upload = site["media"] / "uploads" / "2026" / "01"
    upload.mkdir(parents=True)
    (upload / "diagram.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (site["media"] / "avatars").mkdir()
    (site["media"] / "avatars" / "inkstone.webp").write_bytes(b"RIFF0000WEBP")
    before = snapshot(env)
    media_before = files(site["media"])

    prefix = script("backup.sh", env, str(tmp_path / "backups"))

    assert Path(prefix + ".dump").stat().st_size > 0
    assert Path(prefix + "-media.tar.gz").stat().st_size > 0
    execute(site["url"], f'DROP DATABASE "{site["name"]}" WITH (FORCE)')
    execute(site["url"], f'CREATE DATABASE "{site["name"]}"')
    (upload / "diagram.png").unlink()
    (site["media"] / "stray.txt").write_text("not in the backup")

    script("restore.sh", env, prefix)

    after = snapshot(env)
    assert len(before["posts"]) >= 32
    assert "备份与恢复" in [title for title, _, _ in after["posts"]]
    assert after["posts"] == before["posts"]
    assert after["pages"] == before["pages"]
    assert set(after["pages"].values()) == {200}
    assert files(site["media"]) == media_before


def test_restore_refuses_a_missing_backup_and_changes_nothing(site, tmp_path):
    env = site["env"]
    site["media"].mkdir()
    (site["media"] / "keep.txt").write_text("still here")

    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "restore.sh"), str(tmp_path / "nope")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "missing" in result.stderr
    assert (site["media"] / "keep.txt").read_text() == "still here"


def test_backup_refuses_a_database_without_inkstone(site, tmp_path):
    # On a Compose host `make backup` reached a fresh embedded server and "backed up"
    # an empty database with exit status 0.
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "backup.sh"), str(tmp_path / "backups")],
        cwd=ROOT,
        env=site["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "no Inkstone tables" in result.stderr
    assert not (tmp_path / "backups").exists()
