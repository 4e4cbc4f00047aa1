from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.views.generic import ListView

from blog.models import Post
from blog.pagination import ReaderPaginationMixin


class AuthorDetailView(ReaderPaginationMixin, ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"
    template_name = "accounts/author_detail.html"

    def get_queryset(self):
        # Only authors have a page: a 404 for every other account, so that the URL
        # does not tell which usernames exist.
        self.author = get_object_or_404(
            get_user_model(),
            username=self.kwargs["username"],
            is_active=True,
            pk__in=Post.objects.published().values("author"),
        )
        return Post.objects.published().by_author(self.author).for_list()

    def get_context_data(self, **kwargs):
        return super().get_context_data(author=self.author, **kwargs)
