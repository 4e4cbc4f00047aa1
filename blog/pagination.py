"""Pagination that stays fast on page 5,000 of 100,000 posts.

- The total count is cached, keyed on the content token the page cache computed for
  this request and on the list's URL without its page number, instead of a COUNT(*)
  on every request. The token changes with every edit and when a scheduled post goes
  live, so a cached count is never wrong; every page of one list shares it.
- Next to the count, under the same token, sit the list's anchors: the ordering values
  of every ANCHOR_STEP-th row, read once per content version by one index-only
  row_number() query. A deep page seeks past the nearest anchor before it with a
  keyset condition and skips fewer than ANCHOR_STEP rows with OFFSET, instead of
  walking every row before it. Keyset seeks need a total order, and every reader
  list has one: newest first, then by id. A list ordered by anything but plain
  non-null columns ending with the primary key, or one without a token or a working
  cache, keeps the plain OFFSET.
- A view can fetch a page's rows itself, given the anchor and the rows left to skip
  (the reader lists run one prepared statement). Otherwise deep pages pick the
  page's ids from the ordering index, then load those few rows, instead of an
  OFFSET over full rows.
"""

import contextlib
import functools
import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.db.models.lookups import Exact
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils.functional import cached_property
from django.utils.http import urlencode

DEEP_OFFSET = 200
ANCHOR_STEP = 500
COUNT_SECONDS = 600


def keyset_ordering(queryset) -> list[tuple[str, bool]] | None:
    """(field name, descending) for each term of the queryset's ordering, when it is
    a total order that a keyset condition can follow; None otherwise."""
    query = queryset.query
    if query.combinator or query.distinct or query.extra_order_by:
        return None
    meta = query.get_meta()
    terms = query.order_by or (meta.ordering if query.default_ordering else ())
    fields = []
    for term in terms:
        if not isinstance(term, str):
            return None
        name = term.removeprefix("-")
        if name == "pk":
            name = meta.pk.name
        try:
            field = meta.get_field(name)
        except FieldDoesNotExist:
            return None
        # A relation orders by the related model's ordering; NULLs sort apart.
        if not field.concrete or field.is_relation or field.null:
            return None
        fields.append((field.name, term.startswith("-")))
    if not fields or fields[-1][0] != meta.pk.name:
        return None
    return fields


def after(fields: list[tuple[str, bool]], anchor: tuple) -> Q:
    """Rows after `anchor` in the ordering. The bound on the first column is implied
    by the rest, but it is what lets the index scan start at the anchor."""
    condition, equal = Q(), {}
    for (name, desc), value in zip(fields, anchor, strict=True):
        condition |= Q(**equal, **{f"{name}__{'lt' if desc else 'gt'}": value})
        equal[name] = value
    (first, desc), value = fields[0], anchor[0]
    return Q(**{f"{first}__{'lte' if desc else 'gte'}": value}) & condition


class ReaderPaginator(Paginator):
    def __init__(
        self,
        object_list,
        per_page,
        *,
        count_key: str | None = None,
        rows: Callable[[int, int, tuple | None], list] | None = None,
        **kw,
    ):
        super().__init__(object_list, per_page, **kw)
        self.count_key = count_key
        # rows(bottom, top, anchor): rows bottom..top of object_list counted after
        # the row whose ordering values are `anchor` (None: from the start), fetched
        # faster than slicing object_list would.
        self.rows = rows

    @cached_property
    def count(self) -> int:
        if not self.count_key:
            return super().count
        try:
            value = cache.get(self.count_key)
        except Exception:  # a dead cache backend is a miss
            value = None
        if value is None:
            value = super().count
            with contextlib.suppress(Exception):
                cache.set(self.count_key, value, COUNT_SECONDS)
        return value

    def anchors(self, fields: list[tuple[str, bool]]) -> list[tuple] | None:
        """The ordering values of rows ANCHOR_STEP, 2 * ANCHOR_STEP, … of the list,
        cached like the count; None without a token or a working cache, where
        computing them on every request would cost more than the OFFSET."""
        if not self.count_key:
            return None
        key = f"anchors:{ANCHOR_STEP}:{self.count_key}"
        try:
            value = cache.get(key)
        except Exception:
            return None
        if value is None:
            names = [name for name, _ in fields]
            order = [F(name).desc() if desc else F(name).asc() for name, desc in fields]
            rows = (
                self.object_list.order_by()
                .annotate(row=Window(RowNumber(), order_by=order))
                .filter(Exact(F("row") % ANCHOR_STEP, 0))
                .values_list("row", *names)
            )
            value = [tuple(values) for _, *values in sorted(rows)]
            with contextlib.suppress(Exception):
                cache.set(key, value, COUNT_SECONDS)
        return value

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        deep = bottom >= DEEP_OFFSET
        fields = keyset_ordering(self.object_list) if deep else None
        anchors = self.anchors(fields) if fields and bottom >= ANCHOR_STEP else None
        anchor = None
        if anchors:
            passed = min(bottom // ANCHOR_STEP, len(anchors))
            anchor = anchors[passed - 1]
            bottom, top = bottom - passed * ANCHOR_STEP, top - passed * ANCHOR_STEP
        if self.rows:
            return self._get_page(self.rows(bottom, top, anchor), number, self)
        if not deep:
            return self._get_page(self.object_list[bottom:top], number, self)
        ids = self.object_list.values_list("pk", flat=True)
        if anchor:
            ids = ids.filter(after(fields, anchor))
        ids = list(ids[bottom:top])
        rows = {obj.pk: obj for obj in self.object_list.filter(pk__in=ids)}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


# The query parameters each reader page reads, by URL name: the search words, a
# list's page number, a sitemap section's page. Every other page reads none, and
# others (utm_source, fbclid, r=N, …) change nothing on any page.
_LISTS = (
    "blog:post_list",
    "blog:tag_detail",
    "blog:post_year_archive",
    "blog:post_month_archive",
    "accounts:author_detail",
)
_PARAMETERS = {
    "blog:post_search": ("q", "page"),
    "sitemap_section": ("p",),
    **dict.fromkeys(_LISTS, ("page",)),
}


@functools.lru_cache(maxsize=4096)
def parameters_read(path_info: str) -> tuple[str, ...]:
    """The query parameters the page at `path_info` reads."""
    try:
        return _PARAMETERS.get(resolve(path_info).view_name, ())
    except Resolver404:
        return ()


def reader_query(request, **changes) -> str:
    """A reader page's query string as its view reads it: each parameter it uses,
    once, with the value QueryDict.get() gives (the last), in a fixed order, with
    `changes` applied (None drops one). The page cache keys pages on it, so URLs
    that differ only in other parameters share one entry, and links and canonical
    URLs carry no more."""
    query = request.GET
    names = parameters_read(request.path_info)
    values = {name: query.get(name) for name in names if name in query}
    values.update((k, v) for k, v in changes.items() if k in names)
    return urlencode([(k, v) for k, v in values.items() if v is not None])


def count_key(request) -> str | None:
    """The cache key of a list's total: the content token plus the URL without its
    page number. None when the page cache computed no token for this request."""
    token = getattr(request, "content_token", None)
    if not token:
        return None
    raw = f"{token}|{request.path}|{reader_query(request, page=None)}"
    return "count:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def is_page_number(value: str) -> bool:
    """ASCII digits only: int() also reads " 3", "+3" and "٣", each another URL for
    page 3."""
    return value.isascii() and value.isdigit()


class ReaderPaginationMixin:
    """List views: the fast paginator, with a cached count for this list. A view can
    define page_rows(bottom, top, anchor), ReaderPaginator's `rows`."""

    paginator_class = ReaderPaginator

    def get_paginator(
        self, queryset, per_page, orphans=0, allow_empty_first_page=True, **kw
    ):
        return self.paginator_class(
            queryset,
            per_page,
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
            count_key=count_key(self.request),
            rows=getattr(self, "page_rows", None),
        )

    def paginate_queryset(self, queryset, page_size):
        page = self.request.GET.get(self.page_kwarg)
        if page and page != "last" and not is_page_number(page):
            raise Http404("No such page.")
        return super().paginate_queryset(queryset, page_size)
