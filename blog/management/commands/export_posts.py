import hashlib
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.template.defaultfilters import pluralize
from django.utils import timezone

from blog import frontmatter
from blog.models import Post


class Command(BaseCommand):
    help = (
        "Write every post, drafts and scheduled ones included, to DIR/<slug>.md "
        "with YAML front matter, and the images it uses to DIR/images/."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)

    def handle(self, *args, directory: Path, **options):
        directory.mkdir(parents=True, exist_ok=True)
        # storage name -> file name under images/
        self.images: dict[str, str] = {}
        posts = Post.objects.select_related("author").prefetch_related("tags")
        count = 0
        for post in posts.order_by("published_at", "pk").iterator(chunk_size=200):
            body = frontmatter.replace_images(
                post.body, lambda url: self.export_image(url, directory)
            )
            text = frontmatter.dump(front_matter(post), body)
            (directory / f"{post.slug}.md").write_text(text, encoding="utf-8")
            count += 1
        images = len(self.images)
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {count} post{pluralize(count)} and "
                f"{images} image{pluralize(images)} to {directory}."
            )
        )

    def export_image(self, url: str, directory: Path) -> str | None:
        """images/<name> for an image in our media storage; None for any other URL."""
        if not url.startswith(settings.MEDIA_URL):
            return None
        name = unquote(url.removeprefix(settings.MEDIA_URL))
        if name in self.images:
            return f"images/{self.images[name]}"
        try:
            with default_storage.open(name, "rb") as source:
                content = source.read()
        except (OSError, SuspiciousFileOperation) as exc:
            self.stderr.write(f"{url}: not exported, link left as it is ({exc})")
            return None
        file_name = PurePosixPath(name).name
        if file_name in self.images.values():
            path = PurePosixPath(file_name)
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            file_name = f"{path.stem}-{digest}{path.suffix}"
        (directory / "images").mkdir(exist_ok=True)
        (directory / "images" / file_name).write_bytes(content)
        self.images[name] = file_name
        return f"images/{file_name}"


def front_matter(post: Post) -> dict:
    meta = {
        "title": post.title,
        "slug": post.slug,
        "date": _local(post.published_at),
        "updated": _local(post.updated_at),
        "draft": post.status == Post.Status.DRAFT,
        "tags": [tag.name for tag in post.tags.all()],
    }
    if post.summary:
        meta["summary"] = post.summary
    meta["author"] = post.author.username
    if post.language:
        meta["language"] = post.language
    return meta


def _local(moment):
    return timezone.localtime(moment).replace(microsecond=0)
