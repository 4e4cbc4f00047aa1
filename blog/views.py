from django.conf import settings
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, ListView

from .models import Post, Tag


class PostListView(ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"

    def get_queryset(self):
        return Post.objects.published().for_list()


class PostDetailView(DetailView):
    context_object_name = "post"

    def get_queryset(self):
        return (
            Post.objects.published().select_related("author").prefetch_related("tags")
        )

    def get_context_data(self, **kwargs):
        post = self.object
        newer_or_older = Post.objects.published().only("title", "slug", "published_at")
        context = super().get_context_data(**kwargs)
        context["previous_post"] = (
            newer_or_older.filter(published_at__lte=post.published_at)
            .exclude(pk=post.pk)
            .exclude(published_at=post.published_at, id__gt=post.id)
            .first()
        )
        context["next_post"] = (
            newer_or_older.filter(published_at__gte=post.published_at)
            .exclude(pk=post.pk)
            .exclude(published_at=post.published_at, id__lt=post.id)
            .order_by("published_at", "id")
            .first()
        )
        return context


class TagDetailView(ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"
    template_name = "blog/tag_detail.html"

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return Post.objects.published().tagged(self.tag).for_list()

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)
