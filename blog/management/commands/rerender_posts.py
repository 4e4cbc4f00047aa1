from django.core.management.base import BaseCommand

from blog import markdown
from blog.models import RENDERED_FIELDS, Post


class Command(BaseCommand):
    help = "Re-render posts whose stored HTML came from an older renderer version."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="Re-render every post, even current ones.",
        )

    def handle(self, *args, all: bool, **options):
        posts = Post.objects.all()
        if not all:
            posts = posts.exclude(renderer_version=markdown.RENDERER_VERSION)
        total = posts.count()
        if not total:
            if options["verbosity"]:
                self.stdout.write(
                    f"All posts are current (renderer v{markdown.RENDERER_VERSION})."
                )
            return
        for done, post in enumerate(
            posts.order_by("pk").iterator(chunk_size=200), start=1
        ):
            post.render()
            Post.objects.filter(pk=post.pk).update(
                **{field: getattr(post, field) for field in RENDERED_FIELDS}
            )
            post.update_search_vector()
            if done % 100 == 0 or done == total:
                self.stdout.write(f"{done}/{total} posts re-rendered")
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-rendered {total} posts with renderer v{markdown.RENDERER_VERSION}."
            )
        )
