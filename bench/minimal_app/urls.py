from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import cache_page
from django.views.generic import DetailView, ListView

from .models import Post


def published():
    return Post.objects.filter(status="published", published_at__lte=timezone.now())


class PostList(ListView):
    paginate_by = 10
    template_name = "minimal/post_list.html"

    def get_queryset(self):
        return published().defer("body_html")


class PostDetail(DetailView):
    template_name = "minimal/post_detail.html"

    def get_queryset(self):
        return published()


urlpatterns = [
    path("", PostList.as_view()),
    path("posts/<str:slug>/", PostDetail.as_view()),
    path("cached/", cache_page(60)(PostList.as_view())),
    path("cached/posts/<str:slug>/", cache_page(60)(PostDetail.as_view())),
]
