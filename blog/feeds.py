import re

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from .models import Post
from .views import tag_by_slug

FEED_ITEMS = 20
_RELATIVE_URL = re.compile(r'(\s(?:href|src)=")/(?!/)')
_RELATIVE_SRCSET = re.compile(r'(\ssrcset="[^"]*")')
# A heading's "#" link (blog.markdown) is for the page; a feed reader shows it as text.
_HEADING_ANCHOR = re.compile(r'(?:&nbsp;| )<a class="heading-anchor"[^>]*>#</a>')
_FRAGMENT_URL = re.compile(r'(\shref=")#')


def absolute_html(html: str, page_url: str) -> str:
    """Feed readers resolve nothing: make site-relative links and images absolute,
    and links within the post (footnotes) links to its page."""
    html = _FRAGMENT_URL.sub(rf"\1{page_url}#", html)
    html = _RELATIVE_URL.sub(rf"\1{settings.SITE_URL}/", html)
    return _RELATIVE_SRCSET.sub(
        lambda m: re.sub(r'(["\s,])/(?!/)', rf"\1{settings.SITE_URL}/", m.group()), html
    )


def feed_posts():
    return Post.objects.published().select_related("author").with_tags()


class LatestPostsFeed(Feed):
    def title(self):
        return settings.SITE_NAME

    def description(self):
        return settings.SITE_TAGLINE

    def link(self):
        return settings.SITE_URL + reverse("blog:post_list")

    def feed_url(self):
        return settings.SITE_URL + reverse("feed_rss")

    def items(self):
        return feed_posts()[:FEED_ITEMS]

    def item_title(self, post):
        return post.title

    def item_description(self, post):
        body = _HEADING_ANCHOR.sub("", post.body_html)
        return absolute_html(body, self.item_link(post))

    def item_link(self, post):
        return settings.SITE_URL + post.get_absolute_url()

    def item_author_name(self, post):
        return post.author.name

    def item_author_link(self, post):
        return settings.SITE_URL + post.author.get_absolute_url()

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return max(post.updated_at, post.published_at)

    def item_categories(self, post):
        return [tag.name for tag in post.tag_list]


class FullTextAtom1Feed(Atom1Feed):
    """Atom with the post's body as <content>, Atom's element for the full text, its
    excerpt as the <summary> (an abstract), and each entry in its own language."""

    def item_attributes(self, item):
        return {**super().item_attributes(item), "xml:lang": item["language"]}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content"], {"type": "html"})


class FullTextAtom:
    feed_type = FullTextAtom1Feed

    def item_description(self, post):
        # Atom1Feed marks the summary as HTML; the excerpt is text ("<T>" is code).
        return escape(post.excerpt)

    def item_extra_kwargs(self, post):
        return {
            "content": LatestPostsFeed.item_description(self, post),
            "language": post.lang,
        }


class LatestPostsAtomFeed(FullTextAtom, LatestPostsFeed):
    subtitle = LatestPostsFeed.description

    def feed_url(self):
        return settings.SITE_URL + reverse("feed_atom")


class TagFeed(LatestPostsFeed):
    def get_object(self, request, slug):
        return tag_by_slug(slug)

    def title(self, tag):
        return f"{settings.SITE_NAME} · {tag.name}"

    def description(self, tag):
        return _("Posts tagged “%(name)s”") % {"name": tag.name}

    def link(self, tag):
        return settings.SITE_URL + tag.get_absolute_url()

    def feed_url(self, tag):
        return settings.SITE_URL + tag.feed_rss_url

    def items(self, tag):
        return feed_posts().tagged(tag)[:FEED_ITEMS]


class TagAtomFeed(FullTextAtom, TagFeed):
    subtitle = TagFeed.description

    def feed_url(self, tag):
        return settings.SITE_URL + tag.feed_atom_url
