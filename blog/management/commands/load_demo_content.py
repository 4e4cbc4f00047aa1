from datetime import date, datetime, time
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from blog.models import Post, Tag

DEMO_POSTS_DIR = Path(__file__).resolve().parents[2] / "demo_posts"

AUTHOR_USERNAME = "inkstone"
AUTHOR_DISPLAY_NAME = "Inkstone 编辑部"
AUTHOR_BIO = """\
Inkstone 自带示例文章的作者：机器学习、代码与数学，中英文都有。

The demo posts show what the blog renders: **code** with highlighting, math,
tables, footnotes and task lists. Edit or delete them whenever you like.
"""


def read_demo_post(path: Path) -> tuple[dict, str]:
    """Split a demo file into its YAML front matter and its Markdown body."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n") or "\n---\n" not in text[3:]:
        raise CommandError(f"{path.name}: missing YAML front matter.")
    front_matter, body = text[4:].split("\n---\n", 1)
    meta = yaml.safe_load(front_matter)
    missing = {"title", "date", "tags"} - set(meta or {})
    if missing:
        raise CommandError(f"{path.name}: front matter lacks {', '.join(missing)}.")
    return meta, body.lstrip("\n")


def aware_datetime(value: date | datetime) -> datetime:
    """YAML gives an aware datetime when the date has an offset; accept the rest."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(9, 0))
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Command(BaseCommand):
    help = "Load the demo posts from blog/demo_posts/ into a database with no posts."

    def handle(self, *args, **options):
        if Post.objects.exists():
            self.stdout.write("Database already has posts; demo content not loaded.")
            return
        paths = sorted(DEMO_POSTS_DIR.glob("*.md"))
        demo_posts = [read_demo_post(path) for path in paths]
        with transaction.atomic():
            author, _ = get_user_model().objects.get_or_create(
                username=AUTHOR_USERNAME,
                defaults={
                    "display_name": AUTHOR_DISPLAY_NAME,
                    "bio": AUTHOR_BIO,
                    "password": make_password(None),
                    "is_staff": False,
                },
            )
            for meta, body in demo_posts:
                post = Post.objects.create(
                    title=meta["title"],
                    slug=meta.get("slug", ""),
                    author=author,
                    body=body,
                    summary=meta.get("summary", ""),
                    status=Post.Status.PUBLISHED,
                    published_at=aware_datetime(meta["date"]),
                )
                post.tags.set(
                    Tag.objects.get_or_create(name=name)[0] for name in meta["tags"]
                )
        self.stdout.write(self.style.SUCCESS(f"Loaded {len(demo_posts)} demo posts."))
