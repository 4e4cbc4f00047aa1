from django.urls import path, register_converter
from django.views.decorators.http import require_safe

from . import feeds, views
from .converters import MonthConverter, UnicodeSlugConverter, YearConverter

register_converter(UnicodeSlugConverter, "uslug")
register_converter(YearConverter, "yyyy")
register_converter(MonthConverter, "mm")

app_name = "blog"
urlpatterns = [
    path("", views.PostListView.as_view(), name="post_list"),
    path("posts/<uslug:slug>/", views.post_detail, name="post_detail"),
    path("tags/", views.tag_list, name="tag_list"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag_detail"),
    path(
        "tags/<uslug:slug>/feed/rss/",
        require_safe(feeds.TagFeed()),
        name="tag_feed_rss",
    ),
    path(
        "tags/<uslug:slug>/feed/atom/",
        require_safe(feeds.TagAtomFeed()),
        name="tag_feed_atom",
    ),
    path("archive/", views.archive_index, name="archive_index"),
    path(
        "archive/<yyyy:year>/",
        views.PostYearArchiveView.as_view(),
        name="post_year_archive",
    ),
    path(
        "archive/<yyyy:year>/<mm:month>/",
        views.PostMonthArchiveView.as_view(),
        name="post_month_archive",
    ),
    path("search/", views.post_search, name="post_search"),
]
