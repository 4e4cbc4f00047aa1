import functools

from django.conf import settings
from django.urls import get_script_prefix, reverse

# Linked from every page's header and footer.
SITE_URL_NAMES = [
    "blog:post_list",
    "blog:tag_list",
    "blog:archive_index",
    "blog:post_search",
    "feed_atom",
    "feed_rss",
]


def site(request):
    prefix = get_script_prefix()
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_TAGLINE": settings.SITE_TAGLINE,
        "SITE_URL": settings.SITE_URL,
        # A callable, so that pages that do not use it (the admin's) never reverse.
        "site_urls": lambda: site_urls(prefix),
    }


# Ten {% url %} tags in base.html cost ~0.25 ms a page; these URLs only change with
# the script prefix, so each prefix reverses them once.
@functools.lru_cache(maxsize=16)
def site_urls(prefix: str) -> dict[str, str]:
    return {name.rpartition(":")[2]: reverse(name) for name in SITE_URL_NAMES}
