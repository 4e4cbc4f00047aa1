from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.db.models.functions import TruncMonth
from django.urls import reverse

from .models import Post, Tag


class SiteUrlSitemap(Sitemap):
    """Absolute URLs from SITE_URL rather than from the request's Host header."""

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme


class PostSitemap(SiteUrlSitemap):
    changefreq = "monthly"
    priority = 0.8

    def items(self):
        return (
            Post.objects.published()
            .only("slug", "updated_at")
            .order_by("-published_at")
        )

    def lastmod(self, post):
        return post.updated_at


class TagSitemap(SiteUrlSitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        published = Post.objects.published()
        return (
            Tag.objects.filter(posts__in=published)
            .annotate(lastmod=Max("posts__updated_at"))
            .order_by("name")
        )

    def lastmod(self, tag):
        return tag.lastmod


class ArchiveSitemap(SiteUrlSitemap):
    changefreq = "monthly"
    priority = 0.3

    def items(self):
        return list(
            Post.objects.published()
            .annotate(month=TruncMonth("published_at"))
            .values("month")
            .annotate(lastmod=Max("updated_at"))
            .order_by("-month")
        )

    def location(self, item):
        month = item["month"]
        return reverse(
            "blog:post_month_archive",
            kwargs={"year": month.year, "month": f"{month.month:02d}"},
        )

    def lastmod(self, item):
        return item["lastmod"]


sitemaps = {"posts": PostSitemap, "tags": TagSitemap, "archive": ArchiveSitemap}
