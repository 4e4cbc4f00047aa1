from django.core.management.base import BaseCommand

from blog import search
from blog.models import Post


class Command(BaseCommand):
    help = "Recompute the stored search document of every post."

    def handle(self, *args, **options):
        total = Post.objects.count()
        for done, post in enumerate(
            Post.objects.only(
                "pk", "title", "summary", "body_text", "body_html"
            ).iterator(chunk_size=500),
            start=1,
        ):
            post.body_text = search.html_to_text(post.body_html)
            Post.objects.filter(pk=post.pk).update(body_text=post.body_text)
            post.update_search_vector()
            if done % 500 == 0 or done == total:
                self.stdout.write(f"{done}/{total} posts indexed")
        self.stdout.write(
            self.style.SUCCESS(f"Search index rebuilt for {total} posts.")
        )
