import hashlib
import os
import re
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_unicode_slug
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.text import slugify

from blog import frontmatter, uploads
from blog.forms import split_tag_names
from blog.models import RENDERED_FIELDS, Post, Tag

# Where Hugo, Jekyll and Hexo keep posts; a folder with none of them is read whole.
CONTENT_DIRS = ("content", "_posts", "_drafts", "source/_posts", "source/_drafts")
SUFFIXES = (".md", ".markdown")
DATE_KEYS = ("date", "publishdate", "pubdate")
UPDATED_KEYS = ("updated", "lastmod", "last_modified_at", "modified")
SUMMARY_KEYS = ("summary", "description", "excerpt")
TAG_KEYS = ("tags", "categories", "category")
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # Jekyll
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d",  # also takes 2024-3-1
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
_DATED_NAME = re.compile(r"(?P<date>\d{4}-\d{1,2}-\d{1,2})-(?P<slug>.+)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# blog.uploads names files uploads/<YYYY>/<MM>/<random token>_<W>x<H>[-<w>].webp.
# Imports put the image's hash in place of the token, so that importing the same
# file again finds the stored copy instead of storing another one.
_UPLOAD_STEM = re.compile(r"uploads/\d{4}/\d{2}/[0-9a-f]{24}")
_FULL_SIZE_SUFFIX = re.compile(r"_[1-9]\d*x[1-9]\d*\.webp")


class ImportFailed(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Import Markdown files with YAML (or TOML) front matter, as Hugo, Jekyll "
        "and Hexo write them. Posts are matched by slug, so importing again "
        "updates them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            type=Path,
            help="A Hugo, Jekyll or Hexo site, or any folder of Markdown files.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report what would be created or updated, and write nothing.",
        )
        parser.add_argument(
            "--author",
            metavar="USERNAME",
            help="Author of posts without one (default: the first superuser).",
        )

    def handle(self, *args, directory: Path, dry_run: bool, author, **options):
        self.root = directory.resolve()
        if not self.root.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        self.dry_run = dry_run
        self.default_author = default_author(author)
        self.image_urls: dict[str, str] = {}
        files = markdown_files(self.root)
        slugs: dict[str, str] = {}
        counts: Counter[str] = Counter()
        dry_labels = {"created": "would create", "updated": "would update"}
        for path in files:
            name = self.relative_name(path)
            try:
                with transaction.atomic():
                    outcome, slug = self.import_file(path, slugs)
                    if dry_run:
                        transaction.set_rollback(True)
            except (ImportFailed, frontmatter.FrontMatterError) as exc:
                counts["failed"] += 1
                self.stderr.write(f"{name}: {exc}; skipped")
                continue
            except ValidationError as exc:
                counts["failed"] += 1
                self.stderr.write(f"{name}: {validation_message(exc)}; skipped")
                continue
            except (DatabaseError, OSError) as exc:
                counts["failed"] += 1
                self.stderr.write(f"{name}: {type(exc).__name__}: {exc}; skipped")
                continue
            counts[outcome] += 1
            slugs[slug] = name
            label = dry_labels.get(outcome, outcome) if dry_run else outcome
            self.stdout.write(f"{label}: {name} -> {slug}")

        summary = (
            f"{len(files)}: created {counts['created']}, updated {counts['updated']}, "
            f"unchanged {counts['unchanged']}, failed {counts['failed']}"
        )
        if dry_run:
            summary = f"Dry run, nothing written. Would import {summary}"
        else:
            summary = f"Imported {summary}"
        style = self.style.WARNING if counts["failed"] else self.style.SUCCESS
        self.stdout.write(style(summary))
        if counts["failed"]:
            raise CommandError(
                f"{counts['failed']} of {len(files)} files could not be imported."
            )

    def import_file(self, path: Path, slugs: dict[str, str]) -> tuple[str, str]:
        meta, body = frontmatter.parse(read_text(path))
        title = text_value(meta.get("title"))
        if not title:
            raise ImportFailed("no title in the front matter")
        slug = post_slug(meta, path, title)
        if slug in slugs:
            raise ImportFailed(f"slug “{slug}” is already used by {slugs[slug]}")

        post = Post.objects.filter(slug=slug).first() or Post(slug=slug)
        is_new = post.pk is None
        before = None if is_new else snapshot(post)
        old_tags = set() if is_new else set(post.tags.values_list("pk", flat=True))

        post.title = title
        post.published_at = (
            parse_date(first_value(meta, DATE_KEYS), "date")
            or filename_date(path)
            or post.published_at  # now, for a new post
        )
        updated_at = parse_date(first_value(meta, UPDATED_KEYS), "updated")
        is_draft = draft_flag(meta, path.relative_to(self.root))
        post.status = Post.Status.DRAFT if is_draft else Post.Status.PUBLISHED
        post.summary = text_value(first_value(meta, SUMMARY_KEYS))
        post.language = self.language(meta, path)
        post.author = self.author(meta, post)
        post.body = frontmatter.replace_images(
            body, lambda url: self.image_url(url, path, post.published_at)
        )
        tags = self.tags(meta, path)

        if not is_new and (
            snapshot(post) == before
            and {tag.pk for tag in tags} == old_tags
            and (
                updated_at is None
                or post.updated_at.replace(microsecond=0)
                == updated_at.replace(microsecond=0)
            )
        ):
            return "unchanged", slug
        post.full_clean(exclude=[*RENDERED_FIELDS, "search_vector"])
        post.save()
        post.tags.set(tags)
        if updated_at is not None:
            Post.objects.filter(pk=post.pk).update(updated_at=updated_at)
        return ("created" if is_new else "updated"), slug

    def relative_name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def warn(self, path: Path, message: str) -> None:
        self.stderr.write(
            f"{self.relative_name(path)}: {message}", style_func=self.style.WARNING
        )

    def language(self, meta: dict, path: Path) -> str:
        value = text_value(meta.get("language") or meta.get("lang")).lower()
        code = value.replace("_", "-")
        if not code:
            return Post.Language.AUTO
        if code == "zh" or code.startswith("zh-"):
            return Post.Language.CHINESE
        if code == "en" or code.startswith("en-"):
            return Post.Language.ENGLISH
        self.warn(path, f"language “{value}” is not one of ours; detecting it instead")
        return Post.Language.AUTO

    def author(self, meta: dict, post: Post):
        value = meta.get("author") or meta.get("authors")
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("name")
        name = text_value(value)
        if not name:
            return post.author if post.author_id else self.default_author
        users = get_user_model().objects.order_by("pk")
        user = (
            users.filter(username=name).first()
            or users.filter(username__iexact=name).first()
            or users.filter(display_name__iexact=name).first()
        )
        return user or self.create_author(name)

    def create_author(self, name: str):
        User = get_user_model()
        try:
            User.username_validator(name)
            username, display_name = name[:150], ""
        except ValidationError:
            username, display_name = slugify(name, allow_unicode=True), name
        base, n = username[:140] or "author", 2
        while User.objects.filter(username__iexact=username).exists():
            username, n = f"{base}-{n}", n + 1
        # Imported authors own posts but cannot log in until someone sets a password.
        user = User(username=username, display_name=display_name[:100])
        user.set_unusable_password()
        user.save()
        added = "would add" if self.dry_run else "added"
        self.stdout.write(f"{added} author “{name}” as user {username}, no password")
        return user

    def tags(self, meta: dict, path: Path) -> list[Tag]:
        names: dict[str, str] = {}
        for key in TAG_KEYS:
            for name in tag_names(meta.get(key)):
                if slugify(name, allow_unicode=True):
                    names.setdefault(name.casefold(), name)
                else:
                    self.warn(path, f"tag “{name}” ignored: no letters or digits")
        return [
            Tag.objects.filter(name__iexact=name).first()
            or Tag.objects.create(name=name)
            for name in names.values()
        ]

    def image_url(self, url: str, path: Path, published_at: datetime) -> str | None:
        """The stored URL of a local image, or None to leave the link alone."""
        if url.startswith(("//", "#")) or _SCHEME.match(url):
            return None
        if url.startswith(settings.MEDIA_URL) and in_storage(
            unquote(url.removeprefix(settings.MEDIA_URL))
        ):
            return None
        file = self.find_image(url, path)
        if file is None:
            self.warn(path, f"image {url} not found; link left as it is")
            return None
        try:
            data = file.read_bytes()
            return self.store_image(data, file.name, published_at)
        except ValidationError as exc:
            self.warn(path, f"image {url} not imported: {exc.messages[0]}")
        except OSError as exc:
            self.warn(path, f"image {url} could not be read: {exc}")
        return None

    def find_image(self, url: str, path: Path) -> Path | None:
        relative = unquote(url.split("#", 1)[0].split("?", 1)[0])
        if not relative:
            return None
        site = [self.root / "static", self.root / "source", self.root]
        if relative.startswith("/"):
            bases = site
        else:
            # Hexo's post asset folder is named after the post's file.
            bases = [path.parent, path.parent / path.stem, *site]
        for base in bases:
            candidate = (base / relative.lstrip("/")).resolve()
            if candidate.is_relative_to(self.root) and candidate.is_file():
                return candidate
        return None

    def store_image(self, data: bytes, name: str, published_at: datetime) -> str:
        """Validate and re-encode like an editor upload, once per image and month."""
        digest = hashlib.sha256(data).hexdigest()[:24]
        stem = f"uploads/{published_at.astimezone(UTC):%Y/%m}/{digest}"
        if stem in self.image_urls:
            return self.image_urls[stem]
        storage_name = stored_upload(stem)
        if storage_name is None:
            full_name, files = uploads.encode_post_image(ContentFile(data, name=name))
            if match := _UPLOAD_STEM.match(full_name):
                old = match[0]
                files = {stem + k.removeprefix(old): v for k, v in files.items()}
                full_name = stem + full_name.removeprefix(old)
            if not self.dry_run:
                uploads.store_files(files)
            storage_name = full_name
        self.image_urls[stem] = default_storage.url(storage_name)
        return self.image_urls[stem]


def default_author(username: str | None):
    User = get_user_model()
    if username:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"There is no user named “{username}”.") from None
    user = User.objects.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        raise CommandError(
            "Posts without an author need a default one: "
            "pass --author USERNAME or create a superuser first."
        )
    return user


def markdown_files(root: Path) -> list[Path]:
    tops = [root / d for d in CONTENT_DIRS if (root / d).is_dir()] or [root]
    found = []
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d != "node_modules"
            )
            found += [
                Path(dirpath, name)
                for name in sorted(filenames)
                # Hugo's _index.md describes a section, not a post.
                if name.lower().endswith(SUFFIXES) and name != "_index.md"
            ]
    return found


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise ImportFailed("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFailed("UTF-16 text; save it as UTF-8 and import it again")
    if b"\x00" in data[:8192]:
        raise ImportFailed("binary data, not a Markdown text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 and import it again"
        ) from None


def text_value(value: object) -> str:
    if value is None or isinstance(value, bool | list | dict):
        return ""
    return str(value).strip()


def first_value(meta: dict, keys: tuple[str, ...]) -> object:
    return next((meta[key] for key in keys if meta.get(key) not in (None, "")), None)


def parse_date(value: object, key: str) -> datetime | None:
    """A front-matter date as an aware datetime; naive ones are in TIME_ZONE."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str) and (parsed := parse_date_string(value.strip())):
        moment = parsed
    else:
        raise ImportFailed(f"{key}: “{value}” is not a date")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def parse_date_string(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        pass
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(value, date_format)
        except ValueError:
            pass
    return None


def filename_date(path: Path) -> datetime | None:
    """The date in a Jekyll file name, 2024-01-02-my-post.md."""
    if match := _DATED_NAME.fullmatch(path.stem):
        return parse_date(parse_date_string(match["date"]), "date")
    return None


def post_slug(meta: dict, path: Path, title: str) -> str:
    """The front matter's slug, else the file name's, else the title's."""
    raw = text_value(meta.get("slug"))
    if not raw:
        # A Hugo page bundle is a folder with an index.md.
        raw = path.parent.name if path.stem == "index" else path.stem
        if match := _DATED_NAME.fullmatch(raw):
            raw = match["slug"]
    try:
        validate_unicode_slug(raw)
        slug = raw[:200]
    except ValidationError:
        slug = slugify(raw, allow_unicode=True)[:200].strip("-")
    slug = slug or slugify(title, allow_unicode=True)[:200].strip("-")
    if not slug:
        raise ImportFailed("no usable slug: add one to the front matter")
    return slug


def draft_flag(meta: dict, relative_path: Path) -> bool:
    return (
        flag(meta.get("draft")) is True
        or flag(meta.get("published")) is False  # Jekyll
        or "_drafts" in relative_path.parts
    )


def flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "no", "off"):
        return False
    return None


def tag_names(value: object) -> list[str]:
    """Names from a comma-separated string or a list, with Hexo's nested lists."""
    if isinstance(value, str):
        return split_tag_names(value)
    if not isinstance(value, list):
        return []
    names = []
    for item in value:
        for name in item if isinstance(item, list) else [item]:
            if text := text_value(name):
                names.append(text[:50])
    return names


def snapshot(post: Post) -> tuple:
    return (
        post.title,
        post.body,
        post.summary,
        post.status,
        post.language,
        post.author_id,
        post.published_at.replace(microsecond=0),
    )


def in_storage(name: str) -> bool:
    try:
        return bool(name) and default_storage.exists(name)
    except SuspiciousFileOperation:
        return False


def stored_upload(stem: str) -> str | None:
    """The full-size image already stored under this stem, if any."""
    directory, prefix = stem.rsplit("/", 1)
    try:
        _, names = default_storage.listdir(directory)
    except (FileNotFoundError, NotImplementedError):
        return None
    for name in names:
        if name.startswith(prefix) and _FULL_SIZE_SUFFIX.fullmatch(
            name.removeprefix(prefix)
        ):
            return f"{directory}/{name}"
    return None


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}"
            for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
