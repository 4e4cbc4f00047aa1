from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sitemaps import Sitemap
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from .models import Post, PostTag, Tag


def latest_edit():
    """The newest edit of a published post: the latest lastmod of the post and
    archive sitemaps, in one aggregate where Django's default reads every item."""
    return Post.objects.published().aggregate(latest=Max("updated_at"))["latest"]


class SiteUrlSitemap(Sitemap):
    """Absolute URLs from SITE_URL rather than from the request's Host header."""

    def get_domain(self, site=None):
        return urlsplit(settings.SITE_URL).netloc

    def get_protocol(self, protocol=None):
        return urlsplit(settings.SITE_URL).scheme


class PostSitemap(SiteUrlSitemap):
    """Pages of 5,000 posts behind the sitemap index: one page renders in a few
    hundred ms, where all 100,000 in one file took seconds and 10 MB."""

    changefreq = "monthly"
    priority = 0.8
    limit = 5000

    def items(self):
        return (
            Post.objects.published()
            .only("slug", "updated_at")
            .order_by("-published_at", "-id")
        )

    def lastmod(self, post):
        return post.updated_at

    def get_latest_lastmod(self):
        return latest_edit()


class TagSitemap(SiteUrlSitemap):
    """Tags with a published post; a tag page last changed when its newest post was
    published, which one index lookup a tag finds (the maximum of its posts' edit
    times had to join every post: 0.7 s at 100,000 posts)."""

    changefreq = "weekly"
    priority = 0.4

    def items(self):
        newest = (
            PostTag.objects.filter(tag=OuterRef("pk"), published_at__lte=timezone.now())
            .order_by("-published_at")
            .values("published_at")[:1]
        )
        return (
            Tag.objects.annotate(lastmod=Subquery(newest))
            .filter(lastmod__isnull=False)
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

    def get_latest_lastmod(self):
        return latest_edit()


class PageSitemap(SiteUrlSitemap):
    """The home page, the tag list, the archive and each author's page: they change
    whenever a post is published or edited."""

    changefreq = "daily"
    priority = 0.6

    def items(self):
        authors = (
            get_user_model()
            .objects.filter(
                is_active=True, pk__in=Post.objects.published().values("author")
            )
            .order_by("username")
        )
        pages = ["blog:post_list", "blog:tag_list", "blog:archive_index"]
        self.latest = latest_edit()  # every page's lastmod: one query, not one each
        return [reverse(name) for name in pages] + [
            a.get_absolute_url() for a in authors
        ]

    def location(self, item):
        return item

    def lastmod(self, item):
        return self.latest

    def get_latest_lastmod(self):
        return latest_edit()


sitemaps = {
    "posts": PostSitemap,
    "tags": TagSitemap,
    "archive": ArchiveSitemap,
    "pages": PageSitemap,
}
