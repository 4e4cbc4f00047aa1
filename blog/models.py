import re
from collections.abc import Callable
from datetime import datetime
from html import unescape
from typing import NamedTuple

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchRank, SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    Value,
    When,
)
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from markdownx.models import MarkdownxField
from simple_history.models import HistoricalRecords

from . import markdown, search
from .slug_urls import slug_url

_FIRST_IMAGE = re.compile(rb'<img[^>]*?\ssrc="([^"]+)"')


def unique_slug(
    model: type[models.Model],
    text: str,
    instance_pk=None,
    max_length=200,
    reserved: Callable[[str], bool] = lambda slug: False,
) -> str:
    """A readable unicode slug ("机器学习", "flash-attention") not used by another row
    nor `reserved`."""
    base = slugify(text, allow_unicode=True)[: max_length - 8].strip("-") or "post"
    slug, n = base, 2
    others = model._default_manager.exclude(pk=instance_pk)
    while others.filter(slug=slug).exists() or reserved(slug):
        slug, n = f"{base}-{n}", n + 1
    return slug


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = markdown.clean_line(self.name)
        if not self.slug:
            self.slug = unique_slug(Tag, self.name, self.pk, max_length=60)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return slug_url("blog:tag_detail", "slug", self.slug)

    def clean(self):
        # Before the form's unique check, which the name saved must pass.
        self.name = markdown.clean_line(self.name)

    @property
    def feed_atom_url(self) -> str:
        return slug_url("blog:tag_feed_atom", "slug", self.slug)

    @property
    def feed_rss_url(self) -> str:
        return slug_url("blog:tag_feed_rss", "slug", self.slug)


# Computed from the body on save (Post.render).
RENDERED_FIELDS = (
    "body_html",
    "body_text",
    "excerpt",
    "toc",
    "reading_minutes",
    "detected_language",
    "renderer_version",
)


# Computed from the title and text by Post.update_search_vector.
SEARCH_FIELDS = ("search_vector", "title_search_vector")

# What post_entry and post_meta show: each column left out is one less to compile,
# fetch, parse and set on every post (~0.1 ms less CPU a list page).
LIST_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "reading_minutes",
    "detected_language",
    "published_at",
)


TAG_COLUMNS = ("id", "name", "slug")


class TagRows(models.Func):
    """A post's tags by name as JSON [[id, name, slug], ...], in one correlated
    subquery per row: a list page of ten posts needs no separate tag query, and
    skips the prefetch machinery (1.2 ms less CPU a page, measured). The tag ids are
    gathered first: joined, PostgreSQL hashed the whole tag table for every post
    (a page of 20 rows, 0.95 ms a round trip; this way, 0.85)."""

    template = (
        "(SELECT coalesce(json_agg(json_build_array(t.id, t.name, t.slug)"
        " ORDER BY t.name), '[]') FROM blog_tag t WHERE t.id = ANY (ARRAY("
        "SELECT pt.tag_id FROM blog_post_tags pt WHERE pt.post_id = %(expressions)s)))"
    )
    # psycopg decodes json itself; a JSONField would decode it a second time.
    output_field = models.Field()


class PostQuerySet(models.QuerySet):
    def published(self) -> "PostQuerySet":
        """Published and not scheduled for later: what anonymous readers may see."""
        return self.filter(
            status=Post.Status.PUBLISHED, published_at__lte=timezone.now()
        )

    def tagged(self, tag: Tag) -> "PostQuerySet":
        return self.filter(tags=tag)

    def with_tags(self) -> "PostQuerySet":
        """Each post's tags loaded with it, for Post.tag_list."""
        return self.annotate(tag_rows=TagRows("pk"))

    def by_author(self, user) -> "PostQuerySet":
        return self.filter(author=user)

    def search(self, raw_query: str) -> "PostQuerySet":
        """Ranked matches: title over body, posts with every term before the rest."""
        return self.search_candidates(raw_query).filter(is_match=True)

    def search_candidates(self, raw_query: str) -> "PostQuerySet":
        """What search() ranks, each annotated with `rank` and `is_match`.

        Candidates are the newest SEARCH_CANDIDATES posts whose title matches plus
        the newest SEARCH_CANDIDATES posts that may match anywhere, so a common word
        costs about the same on 100,000 posts as on 1,000, and an old post titled
        with the query still ranks first. Fewer than SEARCH_CANDIDATES candidates
        means every match is among them.
        """
        terms = search.query_terms(raw_query)
        if not terms:
            return self.none().annotate(rank=Value(0.0), is_match=Value(False))
        queries = search.build_queries(terms)
        newest = ("-published_at", "-id")
        limit = search.SEARCH_CANDIDATES
        # Titles have their own small tsvector: the GIN recheck of a Chinese phrase
        # reads a title, not a whole article.
        in_title = (
            self.filter(title_search_vector=queries.any_term)
            .order_by(*newest)
            .values("pk")[:limit]
        )
        # The loose query needs no GIN recheck; the exact phrase is tested below,
        # on the bounded candidates only.
        in_text = (
            self.filter(search_vector=queries.any_term_loose)
            .order_by(*newest)
            .values("pk")[:limit]
        )
        rank = SearchRank(F("search_vector"), queries.any_term) + Case(
            When(search_vector=queries.all_terms, then=Value(1.0)),
            default=Value(0.0),
            output_field=FloatField(),
        )
        is_match = (
            Value(True)
            if queries.is_loose_exact
            else ExpressionWrapper(
                Q(search_vector=queries.any_term), output_field=BooleanField()
            )
        )
        return (
            self.filter(pk__in=in_title.union(in_text))
            .annotate(rank=rank, is_match=is_match)
            .order_by("-rank", *newest)
        )

    def for_list(self, *, with_text: bool = False) -> "PostQuerySet":
        """Columns and tags a post list shows (lists show no author); search results
        add the text their snippets are cut from."""
        fields = LIST_FIELDS + ("body_text",) if with_text else LIST_FIELDS
        return self.with_tags().only(*fields)


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Language(models.TextChoices):
        AUTO = "", _("Detect from text")
        ENGLISH = "en", "English"
        CHINESE = "zh-hans", "简体中文"

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=200,
        unique=True,
        allow_unicode=True,
        blank=True,
        help_text=_("Part of the URL. Chinese characters are fine."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="posts",
        verbose_name=_("author"),
    )
    body = MarkdownxField(
        _("body"), help_text=_("Markdown, with $math$ and ```code```.")
    )
    summary = models.TextField(
        _("summary"),
        blank=True,
        help_text=_("Optional. Replaces the automatic excerpt on lists and in feeds."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=Language,
        blank=True,
        default=Language.AUTO,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status, default=Status.DRAFT
    )
    published_at = models.DateTimeField(
        _("publication date"),
        default=timezone.now,
        help_text=_(
            "A future date schedules the post; it appears by itself at that time."
        ),
    )
    tags = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="posts",
        through="PostTag",
        verbose_name=_("tags"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Computed from `body` on save, so that no request renders Markdown.
    body_html = models.TextField(editable=False, default="")
    excerpt = models.TextField(editable=False, default="")
    body_text = models.TextField(editable=False, default="")
    toc = models.JSONField(editable=False, default=list)
    reading_minutes = models.PositiveIntegerField(editable=False, default=1)
    detected_language = models.CharField(max_length=10, editable=False, default="en")
    renderer_version = models.PositiveIntegerField(editable=False, default=0)
    search_vector = SearchVectorField(editable=False, null=True)
    title_search_vector = SearchVectorField(editable=False, null=True, blank=True)

    objects = PostQuerySet.as_manager()
    # Revisions keep what authors wrote; everything derived is recomputed on restore.
    history = HistoricalRecords(excluded_fields=[*RENDERED_FIELDS, *SEARCH_FIELDS])

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [
            models.Index(
                fields=["-published_at", "-id"],
                condition=Q(status="published"),
                name="post_published_idx",
            ),
            models.Index(fields=["author", "-published_at"], name="post_author_idx"),
            GinIndex(fields=["search_vector"], name="post_search_idx"),
            GinIndex(fields=["title_search_vector"], name="post_title_search_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.title = markdown.clean_line(self.title)
        if not self.slug:
            self.slug = unique_slug(
                Post, self.title, self.pk, reserved=self.redirects_elsewhere
            )
        self.render()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], *RENDERED_FIELDS}
        previous = Post.objects.filter(pk=self.pk).values("slug", "status").first()
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.update_search_vector()
            SlugRedirect.objects.filter(old_slug=self.slug).delete()
            if (
                previous
                and previous["slug"] != self.slug
                and previous["status"] == self.Status.PUBLISHED
            ):
                SlugRedirect.objects.update_or_create(
                    old_slug=previous["slug"], defaults={"post": self}
                )

    def get_absolute_url(self, script_prefix: str | None = None) -> str:
        return slug_url("blog:post_detail", "slug", self.slug, script_prefix)

    def redirects_elsewhere(self, slug: str) -> "SlugRedirect | None":
        """The redirect of another post's old URL at `slug`: taking the slug would
        send that post's old links here."""
        found = (
            SlugRedirect.objects.filter(old_slug=slug).select_related("post").first()
        )
        return found if found and found.post_id != self.pk else None

    def render(self) -> None:
        rendered = markdown.render(self.body)
        self.body_html = rendered.html
        self.body_text = search.html_to_text(rendered.html)
        self.toc = rendered.toc
        self.reading_minutes = rendered.reading_minutes
        self.detected_language = self.language or rendered.language
        summary = markdown.plain_text(self.summary)
        self.excerpt = summary or rendered.excerpt
        self.renderer_version = markdown.RENDERER_VERSION

    def update_search_vector(self) -> None:
        title = search.segment(self.title)
        body = search.segment(f"{self.summary} {self.body_text}")
        Post.objects.filter(pk=self.pk).update(
            search_vector=SearchVector(Value(title), config=search.CONFIG, weight="A")
            + SearchVector(Value(body), config=search.CONFIG, weight="B"),
            title_search_vector=SearchVector(Value(title), config=search.CONFIG),
        )

    @property
    def is_published(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()
        )

    @property
    def is_scheduled(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED and self.published_at > timezone.now()
        )

    @property
    def lang(self) -> str:
        return self.detected_language

    @cached_property
    def tag_list(self) -> list["TagLink"]:
        """The post's tags by name: from the query when it used with_tags(), else
        one query of its own."""
        rows = self.__dict__.get("tag_rows")
        if rows is None:
            rows = self.tags.values_list(*TAG_COLUMNS)
        return [TagLink(*row) for row in rows]

    @cached_property
    def body_html_utf8(self) -> bytes:
        """body_html as UTF-8. The article page loads it so from PostgreSQL (see
        blog.views.ARTICLE_SQL) and leaves body_html unloaded."""
        return self.body_html.encode()

    @cached_property
    def first_image_url(self) -> str:
        # find() skips to the first <img> at memchr speed; the regex alone crawled
        # an article's 20 KB at ~30 µs, 1% of its page.
        html = self.body_html_utf8
        start = html.find(b"<img")
        if start < 0:
            return ""
        match = _FIRST_IMAGE.search(html, start)
        return unescape(match.group(1).decode()) if match else ""


class TagLink(NamedTuple):
    """A tag as a post's page or list entry shows it. Tag instances for the thirty
    tags of a list page cost it 10% of its instructions."""

    pk: int
    name: str
    slug: str

    def get_absolute_url(self, script_prefix: str | None = None) -> str:
        return slug_url("blog:tag_detail", "slug", self.slug, script_prefix)


class PostLink(NamedTuple):
    """A post as another post's page links it (previous, next, related): its title,
    URL and date. Seven Post instances cost an article 5% of its instructions."""

    pk: int
    title: str
    slug: str
    published_at: datetime

    def get_absolute_url(self, script_prefix: str | None = None) -> str:
        return slug_url("blog:post_detail", "slug", self.slug, script_prefix)


class PostTag(models.Model):
    """A post's tag. `published_at` is the post's publication time while the post is
    published and NULL otherwise, and `post_tag_ids` the ids of all the post's tags;
    database triggers keep both (migrations 0005 and 0006). The newest posts of a tag
    are one index range, however many posts the tag has, and each entry says which
    other tags its post has. Changes to these rows keep each post's stored related
    posts exact (blog_post_related, migration 0007)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    published_at = models.DateTimeField(null=True, editable=False)
    post_tag_ids = ArrayField(models.BigIntegerField(), default=list, editable=False)

    class Meta:
        db_table = "blog_post_tags"
        unique_together = [("post", "tag")]
        indexes = [
            models.Index(
                fields=["tag", "-published_at", "-post"],
                include=["post_tag_ids"],
                condition=Q(published_at__isnull=False),
                name="post_tag_newest_idx",
            ),
        ]

    def __str__(self) -> str:
        return str(self.tag)


class SlugRedirect(models.Model):
    """An old slug of a published post; its URL answers 301 to the post."""

    old_slug = models.SlugField(
        _("old slug"), max_length=200, unique=True, allow_unicode=True
    )
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="redirects", verbose_name=_("post")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("slug redirect")
        verbose_name_plural = _("slug redirects")

    def __str__(self) -> str:
        return f"{self.old_slug} → {self.post.slug}"

    def get_absolute_url(self) -> str:
        return slug_url("blog:post_detail", "slug", self.old_slug)

    def clean(self):
        # Another post's URL: the live post would go on winning, and the redirect
        # would be a lie in the list.
        if Post.objects.filter(slug=self.old_slug).exists():
            raise ValidationError(
                {"old_slug": _("A post has this slug: its URL cannot redirect.")}
            )


class ContentVersion(models.Model):
    """One row, bumped by database triggers whenever anything a reader sees changes.

    Triggers (migration 0003) catch every writer: the admin, imports, the shell and
    other replicas alike. Page caches and ETags are keyed on it.
    """

    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("content version")

    def __str__(self) -> str:
        return f"v{self.version}"
