from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.generic import DetailView, ListView, MonthArchiveView, YearArchiveView

from . import search
from .models import Post, SlugRedirect, Tag
from .pagination import ReaderPaginationMixin

RELATED_POSTS = 5
# Related posts are picked among the newest posts of each shared tag: bounded work
# for an article, even when a tag holds tens of thousands of posts.
RELATED_CANDIDATES_PER_TAG = 100


# Hand-written because it runs on every article: the ORM version (a UNION of one
# subquery per tag) cost ~2 ms of Python to build; this costs ~0.1 ms. Candidates
# are ranked from the post-tag index alone; only the five chosen posts are read
# (at 100k posts, 1.7 -> 1.3 ms, against reading every candidate's row).
RELATED_SQL = """
WITH candidate AS (
    SELECT DISTINCT c.post_id, c.published_at
    FROM unnest(%(tags)s::bigint[]) AS shared_tag(id)
    CROSS JOIN LATERAL (
        SELECT pt.post_id, pt.published_at
        FROM blog_post_tags pt
        WHERE pt.tag_id = shared_tag.id
          AND pt.published_at <= %(now)s
          AND pt.post_id <> %(post)s
        ORDER BY pt.published_at DESC, pt.post_id DESC
        LIMIT %(per_tag)s
    ) AS c
), ranked AS (
    SELECT c.post_id, c.published_at, s.shared
    FROM candidate c
    CROSS JOIN LATERAL (
        SELECT count(*) AS shared
        FROM blog_post_tags t
        WHERE t.post_id = c.post_id AND t.tag_id = ANY(%(tags)s::bigint[])
    ) AS s
    ORDER BY s.shared DESC, c.published_at DESC, c.post_id DESC
    LIMIT %(limit)s
)
SELECT p.id, p.title, p.slug, p.published_at
FROM ranked r JOIN blog_post p ON p.id = r.post_id
ORDER BY r.shared DESC, r.published_at DESC, r.post_id DESC
"""


def related_posts(post: Post) -> list[Post]:
    """Up to five published posts sharing tags with `post`: most shared tags first,
    then newest. One query; each tag's newest posts are one index range of PostTag
    (its published_at is NULL unless the post is published)."""
    tag_ids = [tag.pk for tag in post.tag_list][:10]
    if not tag_ids:
        return []
    params = {
        "tags": tag_ids,
        "now": timezone.now(),
        "post": post.pk,
        "per_tag": RELATED_CANDIDATES_PER_TAG,
        "limit": RELATED_POSTS,
    }
    return list(Post.objects.raw(RELATED_SQL, params))


# Hand-written for the same reason: built with the ORM (a union of two filtered,
# excluded and ordered querysets), the same query cost 1.1 ms of CPU; this, 0.3 ms.
NEIGHBOURS_SQL = """
(SELECT id, title, slug, published_at FROM blog_post
 WHERE status = %(published)s AND published_at <= %(now)s
   AND published_at <= %(at)s AND NOT (published_at = %(at)s AND id >= %(post)s)
 ORDER BY published_at DESC, id DESC
 LIMIT 1)
UNION ALL
(SELECT id, title, slug, published_at FROM blog_post
 WHERE status = %(published)s AND published_at <= %(now)s
   AND published_at >= %(at)s AND NOT (published_at = %(at)s AND id <= %(post)s)
 ORDER BY published_at, id
 LIMIT 1)
"""


def neighbours(post: Post) -> tuple[Post | None, Post | None]:
    """The published posts just before and just after `post`, in one query. Each
    half tests the plain range first, so the walk starts at `published_at` in the
    index, not at the end."""
    at, pk = post.published_at, post.pk
    params = {
        "published": Post.Status.PUBLISHED,
        "now": timezone.now(),
        "at": at,
        "post": pk,
    }
    rows = list(Post.objects.raw(NEIGHBOURS_SQL, params))
    previous = next((r for r in rows if (r.published_at, r.pk) < (at, pk)), None)
    following = next((r for r in rows if (r.published_at, r.pk) > (at, pk)), None)
    return previous, following


class PostListView(ReaderPaginationMixin, ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"

    def get_queryset(self):
        return Post.objects.published().for_list()


class PostDetailView(DetailView):
    """An article; staff also see drafts and scheduled posts here, as a preview."""

    context_object_name = "post"

    def get_queryset(self):
        user = self.request.user
        posts = Post.objects.all() if user.is_staff else Post.objects.published()
        return posts.for_article()

    def get(self, request, *args, **kwargs):
        try:
            return super().get(request, *args, **kwargs)
        except Http404:
            redirect = (
                SlugRedirect.objects.filter(old_slug=kwargs["slug"])
                .select_related("post")
                .first()
            )
            if redirect and (redirect.post.is_published or request.user.is_staff):
                return HttpResponsePermanentRedirect(redirect.post.get_absolute_url())
            raise

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["previous_post"], context["next_post"] = neighbours(self.object)
        context["related_posts"] = related_posts(self.object)
        return context


class TagDetailView(ReaderPaginationMixin, ListView):
    paginate_by = settings.POSTS_PER_PAGE
    context_object_name = "posts"
    template_name = "blog/tag_detail.html"

    def get_queryset(self):
        self.tag = get_object_or_404(Tag, slug=self.kwargs["slug"])
        return Post.objects.published().tagged(self.tag).for_list()

    def get_context_data(self, **kwargs):
        return super().get_context_data(tag=self.tag, **kwargs)


@require_GET
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


@require_GET
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


@require_GET
def post_search(request):
    query = request.GET.get("q", "")
    query = (
        query.encode("utf-8", "replace")
        .decode("utf-8")
        .strip()[: search.MAX_QUERY_CHARS]
    )
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


@require_GET
def robots_txt(request):
    sitemap = settings.SITE_URL + reverse("sitemap")
    lines = [
        "User-agent: *",
        f"Disallow: {reverse('admin:index')}",
        f"Sitemap: {sitemap}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
