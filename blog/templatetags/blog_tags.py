import functools
import json
from datetime import tzinfo
from html import escape
from typing import NamedTuple

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext

from blog import markdown
from blog.context_processors import site_urls
from blog.pagination import is_page_number, reader_query
from blog.slug_urls import slug_url

register = template.Library()

_JSON_ESCAPES = {">": "\\u003E", "<": "\\u003C", "&": "\\u0026"}


# Rendered {% constant %} blocks by (node, language, script prefix[, section]).
_constants: dict[tuple, str] = {}


@receiver(setting_changed)
def forget_markup(**kwargs) -> None:
    _constants.clear()
    reading_time.cache_clear()
    article_words.cache_clear()
    tag_link.cache_clear()


class ConstantNode(template.Node):
    # Not searched for blocks: {% extends %} looks for them through the whole parent
    # template on every render, and a block inside a constant could not vary anyway.
    child_nodelists = ()

    def __init__(self, nodelist, per_section: bool = False):
        self.nodelist = nodelist
        self.per_section = per_section

    def render(self, context) -> str:
        # The script prefix is the request's: looked up once a render. The language
        # is not, since {% language %} can change it within a template.
        prefix = context.render_context.get(ConstantNode)
        if prefix is None:
            prefix = context.render_context[ConstantNode] = get_script_prefix()
        key = (self, get_language(), prefix)
        if self.per_section:
            key += (current_section(context, prefix),)
        try:
            return _constants[key]
        except KeyError:
            rendered = _constants[key] = self.nodelist.render(context)
            return rendered


# Rendered node by node, the page chrome in base.html (translations, static and site
# URLs, settings) cost ~0.5 ms a page; with its constant parts in these, ~0.25 ms.
@register.tag
def constant(parser, token):
    """{% constant %}…{% endconstant %}: markup that depends only on the language,
    the script prefix and settings (translations, {% static %}, site_urls, SITE_NAME),
    rendered once per process for each language and prefix. Never put anything that
    depends on the request or on content in it. {% constant per_section %} may also
    compare request.path with the site_urls (the header's current-page marks): it is
    rendered once more for each of those pages."""
    options = token.split_contents()[1:]
    if options not in ([], ["per_section"]):
        raise template.TemplateSyntaxError(
            "{% constant %} takes no option but per_section"
        )
    nodelist = parser.parse(("endconstant",))
    parser.delete_first_token()
    return ConstantNode(nodelist, per_section=bool(options))


def current_section(context, prefix: str) -> str | None:
    """request.path when it is one of the site_urls, else None (also for a page
    rendered without a request, such as the server error page)."""
    path = getattr(context.get("request"), "path", None)
    return path if path in site_urls(prefix).values() else None


@register.simple_tag(takes_context=True)
def canonical_url(context) -> str:
    """SITE_URL + path and the parameters the page reads (no tracking parameters);
    page 1 has no number."""
    request = context["request"]
    url = settings.SITE_URL + iri_to_uri(request.path)
    page = request.GET.get("page")
    page = page if page and is_page_number(page) and page != "1" else None
    query = reader_query(request, page=page)
    return f"{url}?{query}" if query else url


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    """The URL of page `number` of this list, keeping the other parameters the page
    reads (the search words) and no others; page 1 has no number."""
    request = context["request"]
    query = reader_query(request, page=None if number == 1 else number)
    return f"?{query}" if query else iri_to_uri(request.path)


@register.simple_tag(takes_context=True)
def page_links(context) -> str:
    """A paginated list's <link rel="prev"> and <link rel="next">, for <head>."""
    page = context.get("page_obj")
    if page is None:
        return ""
    links = [
        f'<link rel="{rel}" href="{escape(page_url(context, number))}">'
        for rel, has, number in (
            ("prev", page.has_previous, page.number - 1),
            ("next", page.has_next, page.number + 1),
        )
        if has()
    ]
    return mark_safe("".join(links))


@register.simple_tag(takes_context=True)
def page_number(context) -> str:
    """The "Page 2 · " that starts a list's <title> from its second page on."""
    page = context.get("page_obj")
    if page is None or page.number == 1:
        return ""
    return gettext("Page %(n)s") % {"n": page.number} + " · "


@register.simple_tag
def current_year() -> int:
    """{% now "Y" %} without a date format's machinery (20 µs a page)."""
    return timezone.localdate().year


@register.filter
def absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL + url


def json_ld(data: dict) -> str:
    payload = json.dumps(data, ensure_ascii=False, default=str)
    # Escaped so that no string can close the script element. (str.translate did
    # the same at 45 µs an article; replace(), at 2.)
    for char, escaped in _JSON_ESCAPES.items():
        payload = payload.replace(char, escaped)
    return mark_safe(f'<script type="application/ld+json">{payload}</script>')


def post_json_ld(post) -> str:
    author = post.author
    url = settings.SITE_URL + post.get_absolute_url()
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.excerpt,
        "datePublished": post.published_at.isoformat(),
        "dateModified": max(post.updated_at, post.published_at).isoformat(),
        "author": {
            "@type": "Person",
            "name": author.name,
            "url": settings.SITE_URL + author.get_absolute_url(),
        },
        "keywords": ", ".join(tag.name for tag in post.tag_list),
        "inLanguage": post.lang,
        "mainEntityOfPage": url,
        "url": url,
    }
    if post.first_image_url:
        data["image"] = absolute(post.first_image_url)
    return json_ld(data)


class Locale(NamedTuple):
    """What a post's markup depends on besides the post, looked up once for a whole
    list: each lookup goes through a context-local (~2 µs, 20 a list page)."""

    tz: tzinfo
    language: str
    script_prefix: str


def current_locale() -> Locale:
    return Locale(timezone.get_current_timezone(), get_language(), get_script_prefix())


# The post list entry and its meta line are built here rather than in two included
# templates, with the same markup: measured on a cold list page, the two includes
# cost ~0.4 ms per entry, this code ~20 µs. html.escape() is what Django's escape()
# calls; used directly it skips the lazy-string wrapper, which was half the cost.
def post_entry(post, locale: Locale) -> str:
    url = post.get_absolute_url(locale.script_prefix)
    return mark_safe(
        f'<article class="entry" lang="{escape(post.lang)}">\n'
        f'  <h2 class="entry-title"><a href="{escape(url)}">{escape(post.title)}</a>'
        "</h2>\n"
        f'  <p class="entry-excerpt">{escape(post.excerpt)}</p>\n'
        f"  {post_meta(post, locale=locale)}\n"
        "</article>\n"
    )


@register.simple_tag
def post_entries(posts) -> str:
    """post_entry for each post of a list page, in one tag: the template loop cost
    ~20 µs a post."""
    locale = current_locale()
    return mark_safe("".join(f"  {post_entry(post, locale)}" for post in posts))


# Built here rather than in the template: as fourteen template nodes the article's
# social markup cost 10% of its page's instructions.
@register.simple_tag
def article_social_meta(post) -> str:
    """The article's Open Graph and Twitter card <meta> lines and its JSON-LD."""
    title, excerpt = escape(post.title), escape(post.excerpt)
    tz = timezone.get_current_timezone()
    published = timezone.localtime(post.published_at, tz).isoformat()
    modified = timezone.localtime(post.updated_at, tz).isoformat()
    tags = "".join(
        f'<meta property="article:tag" content="{escape(tag.name)}">\n  '
        for tag in post.tag_list
    )
    if post.first_image_url:
        image = escape(absolute(post.first_image_url))
        card = (
            f'<meta property="og:image" content="{image}">\n'
            '  <meta name="twitter:card" content="summary_large_image">\n'
            f'  <meta name="twitter:image" content="{image}">'
        )
    else:
        card = '<meta name="twitter:card" content="summary">'
    return mark_safe(
        '<meta property="og:type" content="article">\n'
        f'  <meta property="og:title" content="{title}">\n'
        f'  <meta property="og:description" content="{excerpt}">\n'
        f'  <meta property="article:published_time" content="{published}">\n'
        f'  <meta property="article:modified_time" content="{modified}">\n'
        f"  {tags}{card}\n"
        f'  <meta name="twitter:title" content="{title}">\n'
        f'  <meta name="twitter:description" content="{excerpt}">\n'
        f"  {post_json_ld(post)}"
    )


def toc_items(toc: list[dict]) -> str:
    """The <li> of each heading in a table of contents; a heading with a formula
    carries its rendered (sanitized) title as "html"."""
    return "".join(
        f'<li class="toc__item toc__item--h{escape(str(item["level"]))}">'
        f'<a href="#{escape(item["id"])}">'
        f"{item.get('html') or escape(item['title'])}</a></li>"
        for item in toc
    )


# The article page's fixed words, translated and escaped once per language.
@functools.lru_cache(maxsize=16)
def article_words(language: str) -> dict[str, str]:
    return {
        "toc": escape(gettext("Table of contents")),
        "contents": escape(gettext("Contents")),
        "related": escape(gettext("Related posts")),
        "more": escape(gettext("More posts")),
        "previous": escape(gettext("Previous")),
        "next": escape(gettext("Next")),
    }


# The article's header, related posts and neighbours are built here rather than by
# some forty template nodes (2.7% fewer instructions a page).
@register.simple_tag
def article_header(post) -> str:
    """The article's <header> (title and meta line) and, when it has three headings
    or more, its table of contents."""
    locale = current_locale()
    html = (
        '<header class="post-header">\n'
        f'    <h1 class="post-title">{escape(post.title)}</h1>\n'
        f"    {post_meta(post, show_author=True, locale=locale)}"
        "  </header>\n"
    )
    if len(post.toc) >= 3:
        words = article_words(locale.language)
        html += (
            f'  <nav class="toc" aria-label="{words["toc"]}">\n'
            f'    <h2 class="toc__title" lang="{locale.language}">'
            f"{words['contents']}</h2>\n"
            f"    <ol>{toc_items(post.toc)}</ol>\n"
            "  </nav>\n"
        )
    return mark_safe(html)


# Escaped text cannot open a comment, so nothing else on the page can look like it.
POST_BODY_MARK = "<!--post-body-->"


@register.simple_tag
def post_body() -> str:
    """Where the article's body goes: blog.views.render_article puts it there,
    without passing it through the template."""
    return mark_safe(POST_BODY_MARK)


@register.simple_tag
def related_aside(posts: list) -> str:
    """The related posts' <aside>: each one's title, linked, and date; nothing when
    there are none."""
    if not posts:
        return ""
    locale = current_locale()
    items = "".join(
        f'<li><a href="{escape(post.get_absolute_url(locale.script_prefix))}"'
        f"{lang_of(post.title)}>{escape(post.title)}</a> "
        f"{post_time(post, locale.tz)}</li>"
        for post in posts
    )
    words = article_words(locale.language)
    return mark_safe(
        '<aside class="related" aria-labelledby="related-title">\n'
        f'  <h2 id="related-title" class="section-title">{words["related"]}</h2>\n'
        f"  <ul>{items}</ul>\n"
        "</aside>\n"
    )


# Between "← Previous" and the title in a link's name, for screen readers (on screen
# they are on two lines).
SEPARATOR = '<span class="visually-hidden">: </span>'


@register.simple_tag
def post_nav(previous_post, next_post) -> str:
    """Links to the previous and the next post; an empty <span> keeps the next link
    on the right when there is no previous one."""
    words = article_words(get_language())
    prefix = get_script_prefix()
    links = "<span></span>"
    if previous_post:
        url = escape(previous_post.get_absolute_url(prefix))
        links = (
            f'<a class="post-nav__prev" href="{url}" rel="prev">'
            f'<span class="post-nav__label">← {words["previous"]}</span>{SEPARATOR}'
            f"<span{lang_of(previous_post.title)}>{escape(previous_post.title)}</span>"
            "</a>"
        )
    if next_post:
        url = escape(next_post.get_absolute_url(prefix))
        links += (
            f'\n  <a class="post-nav__next" href="{url}" rel="next">'
            f'<span class="post-nav__label">{words["next"]} →</span>{SEPARATOR}'
            f"<span{lang_of(next_post.title)}>{escape(next_post.title)}</span></a>"
        )
    return mark_safe(
        f'<nav class="post-nav" aria-label="{words["more"]}">\n  {links}\n</nav>'
    )


def post_time(post, tz: tzinfo) -> str:
    """<time> with the publication date, as |date:'c' and |date:"Y-m-d" give it, in
    `tz` (the current time zone, which lists look up once, not per post)."""
    published = timezone.localtime(post.published_at, tz)
    date = f"{published.year:04d}-{published.month:02d}-{published.day:02d}"
    return f'<time datetime="{published.isoformat()}">{date}</time>'


# A list page repeats a few reading times and tags; their markup is kept per language
# and script prefix (-3% of a list page's CPU).
@functools.lru_cache(maxsize=256)
def reading_time(minutes: int, language: str) -> str:
    return ngettext("%(minutes)s min read", "%(minutes)s min read", minutes) % {
        "minutes": minutes
    }


@register.filter
def lang_of(text: str) -> str:
    """' lang="zh-hans"' for a title or a name in Chinese (or Japanese, Korean),
    else nothing (the element keeps its parent's language): screen readers read a
    Chinese tag or title on an English page with an English voice otherwise."""
    language = markdown.text_language(text)
    return mark_safe(f' lang="{language}"' if language else "")


@functools.lru_cache(maxsize=4096)
def tag_link(name: str, slug: str, prefix: str) -> str:
    url = slug_url("blog:tag_detail", "slug", slug, prefix)
    return (
        f'<a class="tag" href="{escape(url)}" rel="tag"{lang_of(name)}>'
        f"{escape(name)}</a>"
    )


@register.simple_tag
def post_meta(post, show_author: bool = False, locale: Locale | None = None) -> str:
    locale = locale or current_locale()
    author = ""
    if show_author:
        url = post.author.get_absolute_url()
        author = (
            f'<span class="post-meta__author">· <a href="{escape(url)}" rel="author">'
            f"{escape(post.author.name)}</a></span>"
        )
    reading = reading_time(post.reading_minutes, locale.language)
    links = "".join(
        tag_link(tag.name, tag.slug, locale.script_prefix) for tag in post.tag_list
    )
    if links:
        links = f'<span class="post-tags">{links}</span>'
    # The interface's language, inside a post's (its entry or article) of another.
    return mark_safe(
        f'<p class="post-meta" lang="{locale.language}">\n'
        f"  {post_time(post, locale.tz)}\n"
        f"  {author}\n"
        f'  <span class="post-meta__reading">· {reading}</span>\n'
        f"  {links}\n"
        "</p>\n"
    )
