from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import include, path
from django.views.decorators.http import require_safe
from django.views.i18n import JavaScriptCatalog
from django.views.static import serve

from blog import feeds, views
from blog.sitemaps import sitemaps
from blog.uploads import ImageUploadView

# markdownx's own urls.py leaves both endpoints open to anonymous users.
markdownx_urls = [
    path(
        "upload/",
        staff_member_required(ImageUploadView.as_view()),
        name="markdownx_upload",
    ),
    path(
        "markdownify/",
        staff_member_required(views.PreviewView.as_view()),
        name="markdownx_markdownify",
    ),
]

urlpatterns = [
    path(f"{settings.ADMIN_URL}markdownx/", include(markdownx_urls)),
    # The editor's scripts' own words (js/editor-backup.js, js/markdownx-upload.js).
    path(
        f"{settings.ADMIN_URL}jsi18n/inkstone/",
        admin.site.admin_view(
            JavaScriptCatalog.as_view(packages=["blog"]), cacheable=True
        ),
        name="inkstone_jsi18n",
    ),
    path(settings.ADMIN_URL, admin.site.urls),
    path("feed/rss/", require_safe(feeds.LatestPostsFeed()), name="feed_rss"),
    path("feed/atom/", require_safe(feeds.LatestPostsAtomFeed()), name="feed_atom"),
    path(
        "sitemap.xml",
        views.sitemap_index,
        {"sitemaps": sitemaps, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        views.sitemap_section,
        {"sitemaps": sitemaps},
        name="sitemap_section",
    ),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("", include("accounts.urls")),
    path("", include("blog.urls")),
]

if settings.SERVE_MEDIA:

    def serve_media(request, path):
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve_media),
    ]

handler500 = "config.errors.server_error"
