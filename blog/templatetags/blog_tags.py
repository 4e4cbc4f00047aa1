import json

from django import template
from django.conf import settings
from django.utils.encoding import iri_to_uri
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag(takes_context=True)
def canonical_url(context) -> str:
    """SITE_URL + path, keeping only the page number (no tracking parameters)."""
    request = context["request"]
    url = settings.SITE_URL + iri_to_uri(request.path)
    page = request.GET.get("page")
    if page and page.isdigit() and page != "1":
        url += f"?page={page}"
    return url


@register.filter
def absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return settings.SITE_URL + url


@register.simple_tag
def json_ld(data: dict) -> str:
    payload = json.dumps(data, ensure_ascii=False, default=str).translate(_JSON_ESCAPES)
    return format_html(
        '<script type="application/ld+json">{}</script>', mark_safe(payload)
    )


@register.simple_tag
def post_json_ld(post) -> str:
    author_url = settings.SITE_URL + post.author.get_absolute_url()
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.excerpt,
        "datePublished": post.published_at.isoformat(),
        "dateModified": max(post.updated_at, post.published_at).isoformat(),
        "author": {"@type": "Person", "name": post.author.name, "url": author_url},
        "keywords": ", ".join(tag.name for tag in post.tags.all()),
        "inLanguage": post.lang,
        "mainEntityOfPage": settings.SITE_URL + post.get_absolute_url(),
        "url": settings.SITE_URL + post.get_absolute_url(),
    }
    if post.first_image_url:
        data["image"] = absolute(post.first_image_url)
    return json_ld(data)
