"""The one Markdown renderer: post bodies, the admin preview, feeds and excerpts."""

import html
import math
import re
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt

RENDERER_VERSION = 1

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9_'’-]+")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Rendered:
    html: str
    excerpt: str
    reading_minutes: int
    language: str
    toc: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)


def _sanitize(fragment: str) -> str:
    return nh3.clean(fragment, link_rel="noopener noreferrer nofollow")


def plain_text(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", _md.render(text)))).strip()


def detect_language(text: str) -> str:
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh-hans" if cjk > words else "en"


def excerpt(text: str, language: str) -> str:
    if language == "zh-hans":
        return text if len(text) <= 120 else text[:120].rstrip() + "…"
    words = text.split()
    return text if len(words) <= 50 else " ".join(words[:50]) + "…"


def reading_minutes(text: str) -> int:
    minutes = len(_CJK.findall(text)) / 400 + len(_LATIN_WORD.findall(text)) / 220
    return max(1, math.ceil(minutes))


def render(text: str) -> Rendered:
    body = _sanitize(_md.render(text))
    plain = plain_text(text)
    language = detect_language(plain)
    return Rendered(
        html=body,
        excerpt=excerpt(plain, language),
        reading_minutes=reading_minutes(plain),
        language=language,
    )


def markdownify(text: str) -> str:
    """django-markdownx's preview: exactly the HTML the public page shows."""
    return render(text).html
