import functools
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sitemaps import views as sitemap_views
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import InvalidPage, Paginator
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.models import DEFERRED, Count, Q
from django.db.models.functions import TruncMonth
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_safe
from django.views.generic import ListView, MonthArchiveView, YearArchiveView
from markdownx.views import MarkdownifyView

from . import markdown, search
from .models import LIST_FIELDS, TAG_COLUMNS, Post, PostLink, SlugRedirect, Tag
from .pagination import ReaderPaginationMixin, is_page_number
from .templatetags.blog_tags import POST_BODY_MARK

PUBLISHED = Post.Status.PUBLISHED.value

# An article page in one statement: the post, its author and tags, the published
# posts just before and after it, and the related posts. Hand-written because it runs
# on every article a crawler or a cold cache asks for: as three ORM and raw queries it
# cost 1.4 ms of CPU and three round trips; this, 0.33 ms and one. It runs as a
# prepared statement (see config.postgresql.base.PreparingCursor).
# - the published status is a literal, not a parameter, so that the plan PostgreSQL
#   keeps for the prepared statement can use the partial index of published posts;
# - previous/next test the plain range first, so each index walk starts at the
#   article's published_at, not at the newest post;
# - the body comes as UTF-8 bytes (textsend: the bytes that would be sent as text;
#   convert_to checked each character again, 10 µs of the backend's CPU) and is
#   joined to the page as they are (render_article): decoding it here and encoding
#   it there were 10% of the page's instructions. The table of contents comes as
#   text, which Django's JSONField decodes, as it does the ORM's;
# - related posts are stored, as the page links them, and kept exact by triggers
#   (migration 0007); while they are not computed (within the transaction that
#   changed them, for a draft's preview, for a post never tagged) they are ranked here.
#   Ranking them on every request was 0.2 ms of PostgreSQL's CPU at 1,000 posts
#   (more than half the statement) and 0.8 ms at 100,000;
# - the author, tags, neighbours and related posts come as one JSON array: psycopg
#   and json.loads cost 3 µs a value, whatever its size.
ARTICLE_COLUMNS = (
    *("id", "title", "slug", "summary", "language", "status", "published_at"),
    *("created_at", "updated_at", "excerpt", "toc", "body_html_utf8"),
    *("reading_minutes", "detected_language", "renderer_version", "author_id"),
)
ARTICLE_SQL = f"""
WITH post AS (
    SELECT p.id, p.title, p.slug, p.summary, p.language, p.status, p.published_at,
           p.created_at, p.updated_at, p.excerpt, p.toc::text AS toc,
           textsend(p.body_html) AS body_html_utf8,
           p.reading_minutes, p.detected_language, p.renderer_version, p.author_id,
           (SELECT r.links FROM blog_post_related r WHERE r.post_id = p.id)
               AS related_links
    FROM blog_post p
    WHERE p.slug = %(slug)s
      AND (%(preview)s OR (p.status = '{PUBLISHED}' AND p.published_at <= %(now)s))
), tag AS (
    SELECT t.id, t.name, t.slug
    FROM post
    JOIN blog_post_tags pt ON pt.post_id = post.id
    JOIN blog_tag t ON t.id = pt.tag_id
)
SELECT {", ".join(f"post.{name}" for name in ARTICLE_COLUMNS)}, json_build_array(
    json_build_array(u.id, u.username, u.display_name, u.first_name, u.last_name),
    (SELECT coalesce(json_agg(json_build_array(id, name, slug) ORDER BY name), '[]')
     FROM tag),
    (SELECT json_build_array(n.id, n.title, n.slug, n.published_at)
     FROM blog_post n
     WHERE n.status = '{PUBLISHED}' AND n.published_at <= %(now)s
       AND n.published_at <= post.published_at
       AND NOT (n.published_at = post.published_at AND n.id >= post.id)
     ORDER BY n.published_at DESC, n.id DESC
     LIMIT 1),
    (SELECT json_build_array(n.id, n.title, n.slug, n.published_at)
     FROM blog_post n
     WHERE n.status = '{PUBLISHED}' AND n.published_at <= %(now)s
       AND n.published_at >= post.published_at
       AND NOT (n.published_at = post.published_at AND n.id <= post.id)
     ORDER BY n.published_at, n.id
     LIMIT 1),
    coalesce(post.related_links,
             inkstone_related_links(post.id, coalesce(post.published_at, %(now)s)))
) AS links
FROM post
JOIN accounts_user u ON u.id = post.author_id
"""
AUTHOR_COLUMNS = ("id", "username", "display_name", "first_name", "last_name")


@functools.cache
def _layout(model, columns: tuple[str, ...]) -> list[tuple]:
    """For values in this column order: (the position of each concrete field's value,
    None if it was not loaded; the field; the ORM's converters of its database
    values), in the model's field order."""
    return [
        (
            columns.index(field.attname) if field.attname in columns else None,
            field,
            field.get_db_converters(connection),
        )
        for field in model._meta.concrete_fields
    ]


def _instance(model, db: str, columns: tuple[str, ...], row):
    """A model instance from some of its columns, converted as the ORM would (JSON
    fields are decoded); every other field is deferred."""
    values = []
    for position, field, converters in _layout(model, columns):
        if position is None:
            values.append(DEFERRED)
            continue
        value = row[position]
        for convert in converters:
            value = convert(value, field, connection)
        values.append(value)
    # A value for every concrete field, in their order: from_db takes them as they are.
    return model.from_db(db, columns, values)


def _post_link(row: list | None) -> PostLink | None:
    """A post linked from an article (previous, next, related), from its JSON row."""
    if row is None:
        return None
    pk, title, slug, published_at = row
    return PostLink(pk, title, slug, datetime.fromisoformat(published_at))


def _prepared_rows(sql: str, params: dict) -> tuple[tuple[str, ...], list[tuple]]:
    """(column names, rows) of `sql`, run as a prepared statement."""
    with connections[DEFAULT_DB_ALIAS].prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        # Read off the result: cursor.description builds a Column a column.
        result = cursor.pgresult
        columns = tuple(result.fname(i).decode() for i in range(result.nfields))
        return columns, rows


# A connection's prepared statement fails for good once a migration changes the type
# of a column it returns ("cached plan must not change result type"), or once
# something deallocated it behind psycopg's back. A fresh connection prepares anew.
STALE_PREPARED_STATEMENT = (
    psycopg.errors.FeatureNotSupported,
    psycopg.errors.InvalidSqlStatementName,
)


def _fresh_prepared_rows(sql: str, params: dict) -> tuple[tuple[str, ...], list[tuple]]:
    """_prepared_rows, on a new connection if this one's statement went stale."""
    try:
        return _prepared_rows(sql, params)
    except DatabaseError as error:
        stale = isinstance(error.__cause__, STALE_PREPARED_STATEMENT)
        if not stale or connection.in_atomic_block:
            raise
    connection.close()
    return _prepared_rows(sql, params)


def article(slug: str, *, preview: bool = False) -> Post | None:
    """The post at `slug` as its page shows it, with `previous_post`, `next_post`
    and `related_posts` set (as PostLinks); drafts and scheduled posts only with
    `preview`. The Markdown source, plain text and search vectors are left deferred."""
    params = {
        "slug": slug,
        "preview": preview,
        "now": timezone.now(),
    }
    columns, rows = _fresh_prepared_rows(ARTICLE_SQL, params)
    if not rows:
        return None
    row = dict(zip(columns, rows[0], strict=True))
    author_row, tag_rows, previous_row, next_row, related_rows = row.pop("links")
    db = connection.alias
    post = _instance(Post, db, tuple(row), tuple(row.values()))
    post.body_html_utf8 = row["body_html_utf8"]
    post.tag_rows = tag_rows
    post.author = _instance(get_user_model(), db, AUTHOR_COLUMNS, author_row)
    post.previous_post = _post_link(previous_row)
    post.next_post = _post_link(next_row)
    post.related_posts = [_post_link(linked) for linked in related_rows]
    return post


class ListStatements(NamedTuple):
    """A list's page statement: counted from the start, and counted after an anchor
    (the ordering values of the row just before, see pagination.ReaderPaginator)."""

    from_start: str
    after_anchor: str


def _list_statements(table: str, id_column: str, where: str) -> ListStatements:
    columns = ", ".join(f"p.{name}" for name in ("id", *LIST_FIELDS))

    def statement(seek: str) -> str:
        return f"""
WITH page AS (
    SELECT {id_column} AS id FROM {table}
    WHERE {where} AND published_at <= %(now)s{seek}
    ORDER BY published_at DESC, {id_column} DESC
    LIMIT %(limit)s OFFSET %(offset)s
), tags AS (
    SELECT pt.post_id,
        json_agg(json_build_array(t.id, t.name, t.slug) ORDER BY t.name) AS tag_rows
    FROM blog_post_tags pt
    JOIN blog_tag t ON t.id = pt.tag_id
    WHERE pt.post_id = ANY (ARRAY(SELECT id FROM page))
    GROUP BY pt.post_id
)
SELECT {columns}, coalesce(tags.tag_rows, '[]') AS tag_rows
FROM page
JOIN blog_post p ON p.id = page.id
LEFT JOIN tags ON tags.post_id = p.id
ORDER BY p.published_at DESC, p.id DESC
"""

    return ListStatements(
        from_start=statement(""),
        after_anchor=statement(
            f"\n      AND (published_at, {id_column}) < (%(anchor_at)s, %(anchor_id)s)"
        ),
    )


# A page of the newest posts, or of a tag's, in one prepared statement, as
# Post.objects.published().for_list() (.tagged(tag)) would give it. Hand-written, like
# the article's: compiling the ORM query was about a sixth of a list page's CPU. The
# page's ids come from the ordering index first, and the tags of those rows alone in
# one join: an OFFSET query with a tag subquery a row gathers tags for every row it
# skips too (page 20: 4.2 ms in PostgreSQL, this way 0.6), and one join took 0.17 ms
# where ten subqueries took 0.21. The tags' rows are found by post_id = ANY (...): the
# plan PostgreSQL keeps for the statement otherwise read all of blog_post_tags.
# A deep page starts after an anchor: the row comparison is an index condition, so
# the scan begins at the anchor and skips fewer than ANCHOR_STEP entries.
PUBLISHED_PAGES = _list_statements("blog_post", "id", f"status = '{PUBLISHED}'")
# A tag's newest posts are one range of the post-tag index (PostTag.published_at).
TAGGED_PAGES = _list_statements("blog_post_tags", "post_id", "tag_id = %(tag)s")


def list_page(
    statements: ListStatements,
    bottom: int,
    top: int,
    anchor: tuple | None = None,
    **params,
) -> list[Post]:
    """Posts bottom..top of a list, counted after `anchor` (published_at, id) if
    given, with their tags for Post.tag_list."""
    params.update(now=timezone.now(), offset=bottom, limit=max(top - bottom, 0))
    if anchor is None:
        sql = statements.from_start
    else:
        sql = statements.after_anchor
        params.update(anchor_at=anchor[0], anchor_id=anchor[1])
    columns, rows = _fresh_prepared_rows(sql, params)
    db = connection.alias
    tags = columns.index("tag_rows")
    posts = []
    for row in rows:
        post = _instance(Post, db, columns, row)
        post.tag_rows = row[tags]
        posts.append(post)
    return posts


class PostListView(ReaderPaginationMixin, ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"

    def get_queryset(self):
        return Post.objects.published().for_list()

    def page_rows(self, bottom: int, top: int, anchor: tuple | None) -> list[Post]:
        return list_page(PUBLISHED_PAGES, bottom, top, anchor)


@require_safe
def post_detail(request, slug: str):
    """An article; staff also see drafts and scheduled posts here, as a preview. An
    old slug redirects to the post's current URL."""
    # Without a session there is no staff user to look up (2% of a cold article).
    signed_in = settings.SESSION_COOKIE_NAME in request.COOKIES
    post = article(
        slug, preview=signed_in and getattr(request.user, "is_author", False)
    )
    if post is None:
        redirect = (
            SlugRedirect.objects.filter(old_slug=slug).select_related("post").first()
        )
        if redirect and (
            redirect.post.is_published or getattr(request.user, "is_author", False)
        ):
            url = redirect.post.get_absolute_url()
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(f"{url}?{query}" if query else url)
        raise Http404("No such post.")
    context = {
        "post": post,
        "previous_post": post.previous_post,
        "next_post": post.next_post,
        "related_posts": post.related_posts,
    }
    return render_article(request, context)


# The body is most of an article's page (28 KB of the bench's 36). Rendered in the
# template, it was copied at each level of blocks and the whole page widened to the
# body's character width before being encoded. The template marks its place instead
# and its UTF-8 is joined in: 6% fewer instructions a cold article.
def render_article(request, context: dict) -> HttpResponse:
    page = render_to_string("blog/post_detail.html", context, request)
    head, mark, tail = page.partition(POST_BODY_MARK)
    if not mark:
        raise ImproperlyConfigured("blog/post_detail.html has no {% post_body %}")
    body = context["post"].body_html_utf8
    return HttpResponse(b"".join((head.encode(), body, tail.encode())))


# Every tag page looks its tag up; as an ORM get() that cost 7% of the page's CPU,
# most of it compiling the query. A tag only drafts or scheduled posts carry is not
# shown, as /tags/ and the sitemap do not show it: one probe of the post-tag index,
# whose rows carry their post's publication time (a join with the posts read all
# 19,944 rows of the largest tag at 100,000 posts: 1.9 ms, against 0.1).
TAG_SQL = f"""
SELECT {", ".join(f"t.{name}" for name in TAG_COLUMNS)} FROM blog_tag t
WHERE t.slug = %(slug)s AND EXISTS (
    SELECT 1 FROM blog_post_tags pt
    WHERE pt.tag_id = t.id AND pt.published_at <= %(now)s
)
"""
PREPARED_STATEMENTS = (ARTICLE_SQL, *PUBLISHED_PAGES, *TAGGED_PAGES, TAG_SQL)


def tag_by_slug(slug: str) -> Tag:
    """The tag at `slug` if a published post carries it; else Http404."""
    _, rows = _fresh_prepared_rows(TAG_SQL, {"slug": slug, "now": timezone.now()})
    if not rows:
        raise Http404("No such tag.")
    return Tag.from_db(connection.alias, TAG_COLUMNS, rows[0])


class TagDetailView(ReaderPaginationMixin, ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"
    template_name = "blog/tag_detail.html"

    def get_queryset(self):
        self.tag = tag_by_slug(self.kwargs["slug"])
        return Post.objects.published().tagged(self.tag).for_list()

    def page_rows(self, bottom: int, top: int, anchor: tuple | None) -> list[Post]:
        return list_page(TAGGED_PAGES, bottom, top, anchor, tag=self.tag.pk)

    def get_context_data(self, **kwargs):
        # The page's title and description, translated once rather than twice.
        title = gettext("Posts tagged “%(name)s”") % {"name": self.tag.name}
        return super().get_context_data(tag=self.tag, title=title, **kwargs)


@require_safe
def tag_list(request):
    # PostTag carries the publication time of published posts: counting it needs no
    # join with the posts (at 100,000 posts, 68 ms instead of 210 ms).
    published = Q(posttag__published_at__lte=timezone.now())
    tags = (
        Tag.objects.annotate(post_count=Count("posttag", filter=published))
        .filter(post_count__gt=0)
        .order_by("-post_count", "name")
    )
    return render(request, "blog/tag_list.html", {"tags": tags})


@require_safe
def archive_index(request):
    months = (
        Post.objects.published()
        .annotate(month=TruncMonth("published_at"))
        .values("month")
        .annotate(post_count=Count("id"))
        .order_by("-month")
    )
    return render(request, "blog/archive_index.html", {"months": months})


class PostYearArchiveView(ReaderPaginationMixin, YearArchiveView):
    date_field = "published_at"
    make_object_list = True
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"

    def get_queryset(self):
        return Post.objects.published().for_list()


class PostMonthArchiveView(ReaderPaginationMixin, MonthArchiveView):
    date_field = "published_at"
    month_format = "%m"
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"

    def get_queryset(self):
        return Post.objects.published().for_list()


@require_safe
def post_search(request):
    # One line of text: a NUL or another control character was echoed into the
    # page's title and search box.
    query = markdown.clean_line(request.GET.get("q", ""))[: search.MAX_QUERY_CHARS]
    terms = search.query_terms(query)
    # One query finds and ranks the (bounded) candidates; the count and the page
    # come from its ids instead of finding them all again.
    results = Post.objects.published().search_candidates(query)
    candidates = list(results.values_list("pk", "is_match"))
    ranked = [pk for pk, is_match in candidates if is_match]
    paginator = Paginator(ranked, settings.POSTS_PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except InvalidPage as error:
        raise Http404(str(error)) from error
    posts = Post.objects.for_list(with_text=True).in_bulk(page.object_list)
    page.object_list = [posts[pk] for pk in page.object_list if pk in posts]
    for post in page.object_list:
        post.snippet = search.snippet(post.body_text, terms)
    context = {
        "query": query,
        "terms": terms,
        "page_obj": page,
        "paginator": paginator,
        "is_paginated": paginator.num_pages > 1,
        "is_capped": len(candidates) >= search.SEARCH_CANDIDATES,
        "posts": page.object_list,
    }
    return render(request, "blog/search.html", context)


@require_safe
def robots_txt(request):
    # The admin is not named here: DJANGO_ADMIN_URL may be set to keep it unlisted,
    # and its pages tell crawlers noindex themselves (templates/admin/base_site.html).
    sitemap = settings.SITE_URL + reverse("sitemap")
    lines = ["User-agent: *", "Allow: /", f"Sitemap: {sitemap}"]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


@require_safe
def sitemap_index(request, **kwargs):
    """Django's sitemap index, with each section's URL on SITE_URL like every other
    absolute URL: Django builds them from the request's Host header."""
    response = sitemap_views.index(request, **kwargs)
    for item in response.context_data["sitemaps"]:
        parts = urlsplit(item.location)
        query = f"?{parts.query}" if parts.query else ""
        item.location = f"{settings.SITE_URL}{parts.path}{query}"
    return response


@require_safe
def sitemap_section(request, **kwargs):
    page = request.GET.get("p")
    if page and not is_page_number(page):
        raise Http404("No such page.")
    return sitemap_views.sitemap(request, **kwargs)


class PreviewView(MarkdownifyView):
    """markdownx's preview endpoint (config/urls.py), for authors only; a request
    without "content" answered 500."""

    def post(self, request, *args, **kwargs):
        if not request.user.is_author:
            raise PermissionDenied
        if "content" not in request.POST:
            return HttpResponseBadRequest("The preview needs the post's content.")
        return super().post(request, *args, **kwargs)
