from django.urls import path, register_converter

from . import views
from .converters import UnicodeSlugConverter

register_converter(UnicodeSlugConverter, "uslug")

app_name = "blog"
urlpatterns = [
    path("", views.PostListView.as_view(), name="post_list"),
    path("posts/<uslug:slug>/", views.PostDetailView.as_view(), name="post_detail"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag_detail"),
]
