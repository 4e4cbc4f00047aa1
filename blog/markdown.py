"""The one Markdown renderer: post bodies, the admin preview, feeds and excerpts.

CommonMark plus GFM tables, strikethrough, task lists, autolinks and footnotes,
parsed by markdown-it-py; code highlighted by Pygments; TeX turned into MathML by
latex2mathml; everything cleaned by an nh3 allow-list of exactly what we emit.
"""

import functools
import html
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import nh3
from django.conf import settings
from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.common.utils import (
    escapeHtml,
    isMdAsciiPunct,
    isPunctChar,
    isWhiteSpace,
)
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Scanned
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin
from mdit_py_plugins.gfm_autolink._match import match_any_email, match_http
from mdit_py_plugins.gfm_autolink.index import (
    _create_autolink,
    _email_rule,
    _preceding_ok,
    _www_inline_rule,
)
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from .uploads import image_attributes

logger = logging.getLogger(__name__)

RENDERER_VERSION = 8
MAX_SOURCE_CHARS = 200_000
MAX_HIGHLIGHTED_CHARS = 100_000  # per post; Pygments does about 100 KB/s
MAX_MATH_CHARS = 5_000
MAX_NESTING = 20
MAX_WARNINGS = 20
DEFAULT_EXTERNAL_LINK_REL = "noopener noreferrer nofollow"

EXCERPT_CJK_CHARS = 120
EXCERPT_WORDS = 50
CJK_CHARS_PER_MINUTE = 400
WORDS_PER_MINUTE = 220
CODE_LINES_PER_MINUTE = 60
SECONDS_PER_FORMULA = 3
SECONDS_PER_IMAGE = 10

# Markdown-it turns NUL into U+FFFD, so these keys cannot come from the text.
_CODE, _FORMULA = "\0code", "\0formula"
MARKERS = {
    "zh-hans": {_CODE: "[代码]", _FORMULA: "[公式]"},
    "en": {_CODE: "[code]", _FORMULA: "[formula]"},
}

_CJK = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0003134f]"
)


_KANA = re.compile("[\u3040-\u30ff]")
_HANGUL = re.compile("[\uac00-\ud7af]")


def text_language(text: str) -> str | None:
    """The language a short text (a title, a tag) is clearly written in, when it is
    not English: Japanese with kana, Korean with hangul, else Chinese with Han."""
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    return "zh-hans" if _CJK.search(text) else None


_LATIN_WORD = re.compile(
    r"[A-Za-z0-9\u00c0-\u024f]+(?:['’._-][A-Za-z0-9\u00c0-\u024f]+)*"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# XML 1.0 (so every feed) refuses the C0 controls but tab, newline and carriage
# return. Pasted from Word (\f) or a terminal (\x1b), a post shows them as their
# control pictures (␌, ␛), which nothing refuses.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A title or a name is one line: no controls at all, and no bidirectional overrides
# or isolates, which turned the text around them on the page.
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_LANG = re.compile(r"[A-Za-z0-9_+#.-]{1,40}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# The footnote plugin's ids, and the page's own (a "# Main" heading's link led to
# <main id="main">).
_RESERVED_ID = re.compile(
    r"fn(?:ref)?\d+|main|search-q|search-page-q|related-title|site-name"
)
_UNESCAPED_AMP = re.compile(r"&(?!#x[0-9a-fA-F]+;|#[0-9]+;)")
_TEX_COMMAND = re.compile(r"\\[A-Za-z]+")
# Fullwidth punctuation never belongs to a URL written in Chinese prose.
_URL_STOP = re.compile(
    "[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65“”‘’…]"
)
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?，。；：！？、）)])")
_ZH_STOPS = "。！？；!?;…"
_ZH_PAUSES = "，、：,: "
_TRAILING_PUNCT = " ,，、：:;；。.!！?？—-"


@dataclass(frozen=True)
class Rendered:
    html: str
    excerpt: str
    reading_minutes: int
    language: str
    toc: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# Math -----------------------------------------------------------------------


def _xml_text(text: str) -> str:
    # latex2mathml stores symbols as "&#x…;" in element text: keep those, escape
    # everything else the author typed (\text{<b>} must stay text).
    return _UNESCAPED_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


# Browsers with MathML Core (Chrome, Firefox) honour mathvariant="normal" only: a bold
# or italic variant (\boldsymbol, \bm, \mathbf on digits, \mathit) must be written
# with the Unicode mathematical letters instead, in their blocks' order (capital
# theta symbol ϴ sits between Ρ and Σ). Offsets from U+1D400; the few letters
# Unicode had already (italic h is U+210E) are exceptions.
_MATH_ALPHABETS = {
    "bold": {"A": 0x1D400, "a": 0x1D41A, "0": 0x1D7CE, "Α": 0x1D6A8, "α": 0x1D6C2},
    "italic": {"A": 0x1D434, "a": 0x1D44E, "Α": 0x1D6E2, "α": 0x1D6FC},
    "bold-italic": {"A": 0x1D468, "a": 0x1D482, "Α": 0x1D71C, "α": 0x1D736},
}
_MATH_EXCEPTIONS = {("italic", "h"): "\u210e"}
_RANGES = {"A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz",
           "0": "0123456789", "Α": "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡϴΣΤΥΦΧΨΩ",
           "α": "αβγδεζηθικλμνξοπρςστυφχψω"}  # fmt: skip
_ENTITY = re.compile(r"&#x([0-9a-fA-F]+);")


def _math_letters(text: str, variant: str) -> str | None:
    """`text` in the Unicode mathematical alphabet for `variant`, or None when a
    character has no such letter."""
    starts = _MATH_ALPHABETS[variant]
    out = []
    for char in _ENTITY.sub(lambda m: chr(int(m[1], 16)), text):
        mapped = _MATH_EXCEPTIONS.get((variant, char))
        for first, letters in _RANGES.items():
            if mapped is None and first in starts and char in letters:
                mapped = chr(starts[first] + letters.index(char))
        if mapped is None:
            return None
        out.append(mapped)
    return "".join(out)


def _fix_variant(element: Element) -> None:
    variant = element.get("mathvariant")
    text = element.text or ""
    if variant in _MATH_ALPHABETS and text:
        letters = _math_letters(text, variant)
        if letters is not None:
            element.text = letters
            del element.attrib["mathvariant"]
    elif (
        element.tag == "mi"
        and variant is None
        and re.fullmatch(
            r"&#x000(?:4[1-9a-fA-F]|5[0-9aA]|6[1-9a-fA-F]|7[0-9aA]);", text
        )
    ):
        # \mathrm{d}: latex2mathml writes the letter as an entity and drops the
        # variant; a one-letter <mi> would be set in italics.
        element.set("mathvariant", "normal")


# Elements whose children are a row: they may gain or lose children. The others
# (msub's base and script, mfrac's parts) have a fixed number.
_ROWS = {"math", "mrow", "mstyle", "mtd", "mpadded", "mphantom", "menclose", "msqrt"}
_SCRIPTED = {"msub", "msup", "msubsup", "munder", "mover", "munderover"}
_WORD = re.compile(r"[A-Za-z]{2,}")
_BINARY_WORDS = {"mod"}  # \bmod and \pmod: an operator, not a function
_BARS = {"|", "\u2016"}
_FUNCTION_APPLICATION = "\u2061"  # invisible; screen readers say "of"


def _upright_letter(element: Element) -> str | None:
    """The letter of a one-letter upright identifier, such as \\mathrm{d}."""
    if element.tag != "mi" or element.get("mathvariant") != "normal" or len(element):
        return None
    text = html.unescape(element.text or "")
    return text if len(text) == 1 and text.isascii() and text.isalpha() else None


def _is_function(element: Element) -> bool:
    """\\log, \\sin, \\operatorname{softmax}, and the same with a script."""
    if element.tag in _SCRIPTED and len(element):
        element = element[0]
    text = html.unescape(element.text or "")
    return (
        element.tag == "mi"
        and "mathvariant" not in element.attrib
        and text not in _BINARY_WORDS
        and bool(_WORD.fullmatch(text))
    )


def _tune(parent: Element) -> None:
    """latex2mathml's MathML, set as TeX sets it and read as screen readers should:
    \\mathrm{softmax} is one identifier (seven letters were spelled out), an
    \\operatorname an identifier (as an operator it kept a gap before its "("), a
    function name is followed by a function application, with a thin space before
    an argument without parentheses (\\log p read "logp"), \\sim and \\ldots are
    operators, bars stretch only with \\left and \\right (\\lVert did), and "/" has
    no space around it."""
    for child in parent:
        _fix_variant(child)
        text = html.unescape(child.text or "")
        if child.tag == "mi" and text == "~":
            child.tag, child.text = "mo", "\u223c"
        elif child.tag == "mi" and text == "\u2026":
            child.tag = "mo"
        elif (
            child.tag == "mo"
            and _WORD.fullmatch(text)
            and text not in _BINARY_WORDS
            and parent.tag not in _SCRIPTED
        ):
            child.tag = "mi"
        elif child.tag == "mo" and text in _BARS and "stretchy" not in child.attrib:
            child.set("stretchy", "false")
        elif child.tag == "mo" and text == "/" and not child.attrib:
            child.attrib.update(lspace="0", rspace="0")  # TeX's "/" is a letter
    if parent.tag not in _ROWS:
        return
    children, run = list(parent), []
    for child in [*children, None]:
        letter = _upright_letter(child) if child is not None else None
        if letter is not None:
            run.append(child)
            continue
        if len(run) > 1:
            run[0].text = "".join(html.unescape(el.text or "") for el in run)
            for el in run[1:]:
                parent.remove(el)
        run = []
    children = list(parent)
    for index, child in enumerate(children):
        if not _is_function(child):
            continue
        following = children[index + 1] if index + 1 < len(children) else None
        apply = Element("mo")
        apply.text = _FUNCTION_APPLICATION
        if following is not None and following.tag != "mo":
            apply.set("rspace", "0.1667em")
        parent.insert(list(parent).index(child) + 1, apply)


def _serialize(element: Element, out: list[str]) -> None:
    _tune(element)
    attrs = "".join(
        f' {name}="{_xml_text(value).replace(chr(34), "&quot;")}"'
        for name, value in element.attrib.items()
    )
    out.append(f"<{element.tag}{attrs}>")
    if element.text:
        out.append(_xml_text(element.text))
    for child in element:
        _serialize(child, out)
        if child.tail:
            out.append(_xml_text(child.tail))
    out.append(f"</{element.tag}>")


def _snippet(tex: str) -> str:
    tex = " ".join(tex.split())
    return tex if len(tex) <= 60 else tex[:59] + "…"


# amsmath environments latex2mathml does not know, as ones it does: it would set
# their rows on one line with the "&"s showing. aligned's columns are align*'s;
# gathered's centred rows are a one-column matrix's, set in display style.
_ALIGNED = re.compile(
    r"\\begin\{(?:aligned|alignedat)\}(?:\{\d+\}|\[[tcb]\])?|\\end\{(?:aligned|alignedat)\}"
)
_GATHERED = re.compile(
    r"\\begin\{(gathered|gather\*?)\}(?:\[[tcb]\])?(.*?)\\end\{\1\}", re.DOTALL
)
# Braces that group, not \{ and \} (which are printed).
_BRACE = re.compile(r"(?<!\\)[{}]")
# What is left of "&" and "\\" outside any environment that lays out rows.
_STRAY_LAYOUT = ("<mi>&amp;</mi>", 'linebreak="newline"')


_ROW_PARTS = re.compile(r"\\\\|\\(?:begin|end)\{[^{}]*\}|\\[{}]|[{}]")


def _rows(body: str) -> list[str]:
    """The rows of an environment's body: split at its own \\\\, not at those of
    environments or groups inside it."""
    rows, depth, start = [], 0, 0
    for part in _ROW_PARTS.finditer(body):
        token = part[0]
        if token == "{" or token.startswith("\\begin"):
            depth += 1
        elif token == "}" or token.startswith("\\end"):
            depth -= 1
        elif token == "\\\\" and depth == 0:
            rows.append(body[start : part.start()])
            start = part.end()
    return [*rows, body[start:]]


def _known_environments(tex: str) -> str:
    tex = _ALIGNED.sub(
        lambda m: "\\begin{align*}" if m[0].startswith("\\begin") else "\\end{align*}",
        tex,
    )
    # latex2mathml applies an unbraced \displaystyle to nothing.
    return _GATHERED.sub(
        lambda m: (
            "\\begin{matrix}"
            + " \\\\ ".join(f"{{\\displaystyle {row}}}" for row in _rows(m[2]))
            + "\\end{matrix}"
        ),
        tex,
    )


@functools.lru_cache(maxsize=2048)
def tex_to_mathml(tex: str, display: bool) -> tuple[str | None, str | None]:
    """(MathML or None, warning or None) for one formula; never raises."""
    if len(tex) > MAX_MATH_CHARS:
        return None, f"Formula longer than {MAX_MATH_CHARS} characters: {_snippet(tex)}"
    try:
        root = convert_to_element(
            _known_environments(tex), display="block" if display else "inline"
        )
        out = [f'<math xmlns="{root.get("xmlns")}" display="{root.get("display")}">']
        out.append("<semantics>")
        _tune(root)
        for child in root:
            _serialize(child, out)
        out.append('<annotation encoding="application/x-tex">')
        out.append(escapeHtml(tex))
        out.append("</annotation></semantics></math>")
        unknown = sorted(
            {
                el.text
                for el in root.iter()
                if el.text and _TEX_COMMAND.fullmatch(el.text)
            }
        )
    except Exception as exc:  # latex2mathml raises many kinds, RecursionError too
        return None, f"Could not render formula ({type(exc).__name__}): {_snippet(tex)}"
    mathml = "".join(out)
    warning = None
    braces = _BRACE.findall(tex)
    if unknown:
        warning = f"Unsupported TeX command {', '.join(unknown)} in: {_snippet(tex)}"
    elif braces.count("{") != braces.count("}"):
        warning = f"Unbalanced {{ and }} in: {_snippet(tex)}"
    elif any(mark in mathml for mark in _STRAY_LAYOUT):
        warning = (
            "& and \\\\ only align and break lines inside an environment such as "
            f"aligned, cases or matrix: {_snippet(tex)}"
        )
    return mathml, warning


def _math(tex: str, env: dict, *, display: bool, block: bool) -> str:
    tex = tex.strip()
    mathml, warning = tex_to_mathml(tex, display)
    if warning:
        env["warnings"].append(warning)
    if mathml is None:
        if block:
            return f'<pre class="math-error">{escapeHtml(tex)}</pre>\n'
        return f'<code class="math-error">{escapeHtml(tex)}</code>'
    if block:
        return f'<div class="math-display" tabindex="0">{mathml}</div>\n'
    if display:
        return f'<span class="math-display">{mathml}</span>'
    return mathml


def _math_paren_rule(state: StateInline, silent: bool) -> bool:
    r"""Inline \( … \); the window bound keeps unclosed openers linear."""
    start = state.pos
    if not state.src.startswith("\\(", start):
        return False
    limit = min(state.posMax, start + MAX_MATH_CHARS + 4)
    end = state.src.find("\\)", start + 2, limit)
    if end < 0 or not state.src[start + 2 : end].strip():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = state.src[start + 2 : end]
        token.markup = "\\("
    state.pos = end + 2
    return True


def _math_bracket_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    r"""Display \[ … \] starting a line and ending one."""
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    pos = state.bMarks[start] + state.tShift[start]
    if not state.src.startswith("\\[", pos):
        return False
    pos += 2
    # Without a close near enough this is not math: reject before scanning lines.
    if state.src.find("\\]", pos, pos + MAX_MATH_CHARS + 2) < 0:
        return False
    parts: list[str] = []
    size = 0
    line = start
    while True:
        text = state.src[pos : state.eMarks[line]]
        close = text.find("\\]")
        if close >= 0:
            if text[close + 2 :].strip():
                return False
            parts.append(text[:close])
            break
        parts.append(text)
        size += len(text) + 1
        line += 1
        if size > MAX_MATH_CHARS or line >= end or state.isEmpty(line):
            return False
        pos = state.bMarks[line] + state.tShift[line]
    content = "\n".join(parts)
    if not content.strip():
        return False
    if not silent:
        token = state.push("math_block", "math", 0)
        token.block = True
        token.content = content
        token.markup = "\\["
        token.map = [start, line + 1]
    state.line = line + 1
    return True


# Code -----------------------------------------------------------------------

_FORMATTER = HtmlFormatter(nowrap=True)


@functools.lru_cache(maxsize=256)
def _lexer(name: str):
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=512)
def _highlight(code: str, lang: str) -> str | None:
    lexer = _lexer(lang)
    if lexer is None:
        return None
    try:
        return highlight(code, lexer, _FORMATTER)
    except Exception:
        logger.warning("Pygments failed on a %s block", lang, exc_info=True)
        return None


def _code_block(code: str, lang: str, env: dict) -> str:
    if not _LANG.fullmatch(lang):
        lang = ""
    body = None
    if lang and len(code) <= env["highlight_budget"]:
        body = _highlight(code, lang.lower())
        env["highlight_budget"] -= len(code) if body else 0
    elif lang:
        env["warnings"].append(
            f"Code past the first {MAX_HIGHLIGHTED_CHARS:,} characters of a post is "
            "shown without highlighting."
        )
    if body is None:
        body = escapeHtml(code)
    pre = f'<pre class="highlight" tabindex="0"><code>{body.rstrip()}</code></pre>'
    if not lang:
        return f'<div class="code-block">{pre}</div>\n'
    label = escapeHtml(lang)
    return (
        f'<div class="code-block" data-lang="{label}">'
        f'<div class="code-lang">{label}</div>{pre}</div>\n'
    )


def _fence_lang(token: Token) -> str:
    info = token.info.strip()
    return info.split(maxsplit=1)[0] if info else ""


# Links, headings, images, tables --------------------------------------------


def _validate_link(url: str) -> bool:
    match = _SCHEME.match(url.strip())
    return match is None or match.group(1).lower() in ("http", "https", "mailto")


def _link_settings() -> tuple[str, tuple[str, ...]]:
    try:
        rel = getattr(settings, "MARKDOWN_EXTERNAL_LINK_REL", DEFAULT_EXTERNAL_LINK_REL)
        hosts = tuple(
            h.lower() for h in getattr(settings, "ALLOWED_HOSTS", ()) if h and h != "*"
        )
    except Exception:  # settings not configured: a bench or a shell without Django
        return DEFAULT_EXTERNAL_LINK_REL, ()
    return rel or "", hosts


def is_external(href: str, own_hosts: tuple[str, ...] = ()) -> bool:
    """An absolute http(s) or protocol-relative link to a host that is not ours."""
    try:
        parts = urlsplit(href.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return True
    if parts.scheme.lower() not in ("http", "https", "") or not parts.netloc:
        return False
    return not any(
        host == h or (h.startswith(".") and (host.endswith(h) or host == h[1:]))
        for h in own_hosts
    )


def _slugify(title: str) -> str:
    slug = unicodedata.normalize("NFKC", title).lower()
    slug = re.sub(r"[^\w\s-]", "", slug)
    slug = re.sub(r"[\s-]+", "-", slug).strip("-_")
    return slug[:80].rstrip("-") or "section"


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "math_inline", "math_inline_double"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _assign_heading_ids(tokens: list[Token]) -> list[dict]:
    used: set[str] = set()
    counters: dict[str, int] = {}
    toc = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        title = _inline_text(tokens[i + 1])
        base = slug = _slugify(title)
        while slug in used or _RESERVED_ID.fullmatch(slug):
            counters[base] = counters.get(base, 1) + 1
            slug = f"{base}-{counters[base]}"
        used.add(slug)
        token.meta["id"] = slug
        tokens[i + 2].meta["id"] = slug
        if token.tag == "h1":
            # The page's title is its only <h1>: a "# Heading" in a post is a section.
            token.tag = tokens[i + 2].tag = "h2"
        level = int(token.tag[1])
        if 2 <= level <= 4:
            entry = {"level": level, "id": slug, "title": title}
            if formulas := _toc_html(tokens[i + 1]):
                entry["html"] = formulas
            toc.append(entry)
    return toc


def _toc_html(inline: Token) -> str | None:
    """A heading's title as the contents show it when it holds a formula: set as on
    the page rather than as TeX (other markup is dropped, as in the plain title)."""
    children = inline.children or []
    if not any(child.type.startswith("math_inline") for child in children):
        return None
    parts, scratch = [], {"warnings": []}  # the heading itself reports problems
    for child in children:
        if child.type == "text":
            parts.append(escapeHtml(child.content))
        elif child.type == "code_inline":
            parts.append(f"<code>{escapeHtml(child.content)}</code>")
        elif child.type.startswith("math_inline"):
            parts.append(_math(child.content, scratch, display=False, block=False))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return sanitize("".join(parts))


# A web address written straight after Chinese text (详见https://…): GFM autolinks
# only follow a space or punctuation. It ends where _URL_STOP or the GFM rules end
# an autolink (trailing punctuation, an unmatched ")").
_URL_AFTER_WIDE = re.compile(r"(?<=[^\x00-\x7f])https?://[^\s<>]+")
_URL_TRAILING = ".,:;!?'\"*_~"


def _url_end(url: str) -> str:
    stop = _URL_STOP.search(url)
    url = url[: stop.start()] if stop else url
    # Chinese may follow the host (https://a.com和…), not be part of it; a path can
    # hold Chinese (https://zh.wikipedia.org/wiki/注意力).
    host_start = url.index("://") + 3
    host_end = url.find("/", host_start)
    host_end = len(url) if host_end < 0 else host_end
    for i in range(host_start, host_end):
        if _is_wide(url[i]):
            url = url[:i]
            break
    while url and (
        url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))
    ):
        url = url[:-1]
    return url


def _link_urls_after_wide(md: MarkdownIt, tokens: list[Token]) -> None:
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        children, depth = [], 0
        for token in block.children:
            depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or depth or "://" not in token.content:
                children.append(token)
                continue
            text, start, searched = token.content, 0, 0
            while match := _URL_AFTER_WIDE.search(text, searched):
                searched = match.start() + 1
                if not _is_wide(text[match.start() - 1]):
                    continue
                url = _url_end(match[0])
                href = md.normalizeLink(url)
                if len(url) <= len("https://") or not _validate_link(href):
                    continue
                searched = match.start() + len(url)
                before = Token("text", "", 0, content=text[start : match.start()])
                opening = Token("link_open", "a", 1, attrs={"href": href}, info="auto")
                label = Token("text", "", 0, content=url)
                children += [before, opening, label, Token("link_close", "a", -1)]
                start = match.start() + len(url)
            children.append(Token("text", "", 0, content=text[start:]))
        block.children = children


def _trim_autolinks(md: MarkdownIt, tokens: list[Token]) -> None:
    for block in tokens:
        children = block.children
        if block.type != "inline" or not children:
            continue
        i = 0
        while i + 2 < len(children):
            link, text, close = children[i : i + 3]
            i += 1
            if not (link.type == "link_open" and link.info == "auto"):
                continue
            if text.type != "text" or close.type != "link_close":
                continue
            stop = _URL_STOP.search(text.content)
            if not stop or stop.start() == 0:
                continue
            url, rest = text.content[: stop.start()], text.content[stop.start() :]
            href = link.attrGet("href") or ""
            prefix = ""
            if url.startswith("www."):
                prefix = "http://"
            elif href.startswith("mailto:") and not url.startswith("mailto:"):
                prefix = "mailto:"
            new_href = md.normalizeLink(prefix + url)
            link.attrSet("href", new_href if _validate_link(new_href) else "")
            text.content = url
            tail = Token("text", "", 0)
            tail.content = rest
            children.insert(i + 2, tail)


def _heading_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    return f'<{token.tag} id="{escapeHtml(token.meta["id"])}">'


def _heading_close(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    # A no-break space, so that a narrow screen never wraps the "#" alone. Hidden
    # from screen readers and the tab order: inside the heading, its name made every
    # heading read twice ("Title, Link to this section: Title"); the contents link
    # each section for everyone.
    return (
        f'&nbsp;<a class="heading-anchor" href="#{escapeHtml(token.meta["id"])}" '
        f'aria-hidden="true" tabindex="-1">#</a></{token.tag}>\n'
    )


def _list_item_open(self, tokens, idx, options, env) -> str:
    """markdown-it's list item, whose task checkbox had no name: it gets the item's
    text, which is what it says is done or not."""
    token = tokens[idx]
    html = self.renderToken(tokens, idx, options, env)
    if token.meta and "checked" in token.meta:
        inline = next(
            (t for t in tokens[idx + 1 : idx + 3] if t.type == "inline"), None
        )
        label = escapeHtml(_inline_text(inline)) if inline else ""
        checked = ' checked=""' if token.meta["checked"] else ""
        html += (
            '<input class="task-list-item-checkbox" disabled="" type="checkbox"'
            f'{checked} aria-label="{label}"> '
        )
    return html


def _link_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    if env["rel"] and is_external(token.attrGet("href") or "", env["hosts"]):
        token.attrSet("rel", env["rel"])
    return self.renderToken(tokens, idx, options, env)


# markdown-it aligns a table column with style="text-align:…", which the CSP's
# style-src 'self' blocks in the browser; a class does the same.
def _table_cell_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    style = token.attrs.pop("style", None)
    if style:
        token.attrSet("class", "align-" + str(style).removeprefix("text-align:"))
    return self.renderToken(tokens, idx, options, env)


def _is_foreign(src: str) -> bool:
    """An image address on another site, which the pages' Content-Security-Policy
    (img-src: this site and the media storage) keeps readers' browsers from loading."""
    parts = urlsplit(src)
    if not parts.netloc:
        return False
    origin = f"{parts.scheme or 'https'}://{parts.netloc}".lower()
    site = urlsplit(settings.SITE_URL)
    allowed = {f"{site.scheme}://{site.netloc}".lower()}
    allowed.update(media.lower().rstrip("/") for media in settings.MEDIA_ORIGINS)
    return origin not in allowed


def _image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = self.renderInlineAsText(token.children or [], options, env)
    if _is_foreign(src):
        env["warnings"].append(
            "Images from other sites are not shown (the page loads nothing from "
            f"elsewhere); readers get a link to it. Upload it to show it: {src}"
        )
        label = escapeHtml(alt or src)
        inside_link = sum(
            {"link_open": 1, "link_close": -1}.get(t.type, 0) for t in tokens[:idx]
        )
        if inside_link:
            return label
        rel = DEFAULT_EXTERNAL_LINK_REL
        return f'<a href="{escapeHtml(src)}" rel="{rel}">{label}</a>'
    attrs = {
        "src": src,
        "alt": alt,
        "title": token.attrGet("title"),
        # Our uploads carry their size and smaller copies in the file name.
        **(image_attributes(src) or {}),
        "loading": "lazy",
        "decoding": "async",
    }
    return (
        "<img"
        + "".join(
            f' {k}="{escapeHtml(str(v))}"' for k, v in attrs.items() if v is not None
        )
        + ">"
    )


def _math_rule(*, display: bool, block: bool):
    def rule(self, tokens, idx, options, env) -> str:
        return _math(tokens[idx].content, env, display=display, block=block)

    return rule


def _fence(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    lang = _fence_lang(token)
    if lang.lower() == "math":
        return _math(token.content, env, display=True, block=True)
    return _code_block(token.content, lang, env)


# Emphasis next to Chinese ---------------------------------------------------


def _is_wide(char: str) -> bool:
    """A CJK character or full-width punctuation, which stands between words."""
    return unicodedata.east_asian_width(char) in ("W", "F")


class _CJKFriendlyState(StateInline):
    """CommonMark's emphasis, but a Chinese character beside ** counts as a word
    break, as a space or punctuation does. Without it, **注意：**这里 and
    这是**“重点”**内容 kept their asterisks: a run of * after punctuation may only
    close emphasis before a space or punctuation, and Chinese has no spaces."""

    def scanDelims(self, start: int, canSplitWord: bool) -> Scanned:
        pos, marker = start, self.src[start]
        last = self.src[start - 1] if start > 0 else " "
        while pos < self.posMax and self.src[pos] == marker:
            pos += 1
        following = self.src[pos] if pos < self.posMax else " "
        last_punct = isMdAsciiPunct(ord(last)) or isPunctChar(last)
        next_punct = isMdAsciiPunct(ord(following)) or isPunctChar(following)
        last_space, next_space = isWhiteSpace(ord(last)), isWhiteSpace(ord(following))
        left = not (
            next_space
            or (next_punct and not (last_space or last_punct or _is_wide(last)))
        )
        right = not (
            last_space
            or (last_punct and not (next_space or next_punct or _is_wide(following)))
        )
        return Scanned(
            left and (canSplitWord or not right or last_punct),
            right and (canSplitWord or not left or next_punct),
            pos - start,
        )


def _cjk_friendly_inline_parse(self, src: str, md, env, tokens: list[Token]):
    """ParserInline.parse, with _CJKFriendlyState."""
    state = _CJKFriendlyState(src, md, env, tokens)
    self.tokenize(state)
    for rule in self.ruler2.getRules(""):
        rule(state)
    return state.tokens


# GFM's autolink rules copy the rest of the paragraph at every ":", "@" and "www.",
# and the ":" rule searches all the text before it for a scheme: a 40 KB paragraph
# of "a:" took 11 s to render, 98 KB of "http:x " 33 s. Here they see a window of
# AUTOLINK_WINDOW characters (no real address is longer), and the ":" rule looks
# only at the few characters a scheme's name takes.
AUTOLINK_WINDOW = 4096
_SCHEME_BEFORE = re.compile(r"(https?|mailto|xmpp)$")


def _windowed(rule):
    def windowed(state: StateInline, silent: bool) -> bool:
        end = state.posMax
        state.posMax = min(end, state.pos + AUTOLINK_WINDOW)
        try:
            return rule(state, silent)
        finally:
            state.posMax = end

    return windowed


def _protocol_autolink(state: StateInline, silent: bool) -> bool:
    """mdit_py_plugins' gfm_autolink _protocol_rule, reading a bounded tail and
    window instead of all the pending text and the rest of the paragraph."""
    if state.linkLevel > 0 or state.src[state.pos] != ":":
        return False
    scheme = _SCHEME_BEFORE.search(state.pending[-6:])
    remaining = state.src[state.pos : state.posMax]
    if scheme is None or len(remaining) < 4:
        return False
    proto = scheme.group(1)
    if not _preceding_ok(state, len(proto)):
        return False
    combined = proto + remaining
    if proto in ("mailto", "xmpp"):
        result = match_any_email(combined, len(proto) + 1, proto)
    else:
        result = match_http(combined)
    if result is None or silent:  # silent: as the plugin's own rules
        return False
    url, length = result
    # The plugin's _create_autolink drops the scheme from the text before it checks
    # the link: a refused one ("xmpp:a@b.co") lost its "xmpp".
    if not state.md.validateLink(state.md.normalizeLink(url)):
        return False
    return _create_autolink(state, len(proto), length, url, combined[:length])


def _build_parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {"html": False, "linkify": False, "maxNesting": MAX_NESTING, "tasklists": True},
    )
    md.inline.parse = _cjk_friendly_inline_parse.__get__(md.inline)
    md.enable(["table", "strikethrough"])
    md.use(gfm_autolink_plugin)
    md.inline.ruler.at("gfm_autolink_www", _windowed(_www_inline_rule))
    md.inline.ruler.at("gfm_autolink_protocol", _windowed(_protocol_autolink))
    md.inline.ruler.at("gfm_autolink_email", _windowed(_email_rule))
    md.use(footnote_plugin, inline=False)
    md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_space=False,
        allow_digits=False,
        allow_blank_lines=False,
        double_inline=True,
    )
    md.inline.ruler.before("escape", "math_paren", _math_paren_rule)
    md.block.ruler.before(
        "fence", "math_bracket", _math_bracket_rule, {"alt": ["paragraph"]}
    )
    md.validateLink = _validate_link
    rules = {
        "math_inline": _math_rule(display=False, block=False),
        "math_inline_double": _math_rule(display=True, block=False),
        "math_block": _math_rule(display=True, block=True),
        "fence": _fence,
        "code_block": lambda s, t, i, o, env: _code_block(t[i].content, "", env),
        "heading_open": _heading_open,
        "heading_close": _heading_close,
        "link_open": _link_open,
        "th_open": _table_cell_open,
        "td_open": _table_cell_open,
        "image": _image,
        "table_open": lambda *a: '<div class="table-wrap" tabindex="0"><table>\n',
        "table_close": lambda *a: "</table></div>\n",
        "list_item_open": _list_item_open,
        # Screen readers name the section and its links in the reader's language.
        "footnote_block_open": lambda *a: (
            '<hr class="footnotes-sep">\n<section class="footnotes" role="doc-endnotes">'
            '\n<ol class="footnotes-list">\n'
        ),
    }
    for name, rule in rules.items():
        md.add_render_rule(name, rule)
    return md


_MD = _build_parser()


# Sanitizing -----------------------------------------------------------------

_MATH_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext",
    "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover",
    "munder", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "merror",
}  # fmt: skip
_MATH_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
    "columnalign", "displaystyle", "scriptlevel", "accent", "accentunder",
    "notation", "form", "minsize", "maxsize", "largeop", "movablelimits",
    "symmetric", "linethickness", "width", "height", "depth", "voffset",
    "mathcolor", "mathbackground", "columnspacing", "rowspacing", "columnlines",
    "rowlines", "rowalign", "frame", "framespacing", "linebreak", "columnspan",
    "rowspan", "bevelled",
}  # fmt: skip
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_ATTRIBUTES = {
    "a": {"href", "title", "id", "rel"},
    "img": {"src", "alt", "title", "width", "height", "srcset", "sizes"},
    "li": {"id"},
    "ol": {"start"},
    "div": {"data-lang"},
    "input": {"checked", "disabled", "aria-label"},
    **{tag: {"id"} for tag in _HEADINGS},
    **{tag: set(_MATH_ATTRIBUTES) for tag in _MATH_TAGS},
}
_ATTRIBUTES["math"].add("xmlns")
_ATTRIBUTE_VALUES = {
    "a": {"aria-hidden": {"true"}, "tabindex": {"-1"}},
    "img": {"loading": {"lazy"}, "decoding": {"async"}},
    "input": {"type": {"checkbox"}},
    "div": {"tabindex": {"0"}},
    "pre": {"tabindex": {"0"}},
    "section": {"role": {"doc-endnotes"}},
    "annotation": {"encoding": {"application/x-tex"}},
}
_ALIGNMENTS = {"align-left", "align-center", "align-right"}
_CLASSES = {
    "div": {"code-block", "code-lang", "table-wrap", "math-display"},
    "span": {c for c in STANDARD_TYPES.values() if c} | {"math-display"},
    "pre": {"highlight", "math-error", "source-fallback"},
    "code": {"math-error"},
    "a": {"heading-anchor", "footnote-backref"},
    "sup": {"footnote-ref"},
    "hr": {"footnotes-sep"},
    "section": {"footnotes"},
    "ul": {"contains-task-list"},
    "ol": {"contains-task-list", "footnotes-list"},
    "li": {"task-list-item", "footnote-item"},
    "input": {"task-list-item-checkbox"},
    "th": _ALIGNMENTS,
    "td": _ALIGNMENTS,
}
_HTML_TAGS = {
    "a", "blockquote", "br", "code", "del", "div", "em", "hr", "img", "input", "li",
    "ol", "p", "pre", "s", "section", "span", "strong", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_CLEANER = nh3.Cleaner(
    tags=_HTML_TAGS | _HEADINGS | _MATH_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ATTRIBUTES,
    tag_attribute_values=_ATTRIBUTE_VALUES,
    allowed_classes=_CLASSES,
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
    strip_comments=True,
)


def clear_caches() -> None:
    """Forget memoized formulas and highlighted code (benchmarks, tests)."""
    tex_to_mathml.cache_clear()
    _highlight.cache_clear()


def sanitize(fragment: str) -> str:
    return _CLEANER.clean(fragment)


# Plain text, excerpts, reading time, language -------------------------------


@dataclass
class _Plain:
    pieces: list[str] = field(default_factory=list)  # text, or a MARKERS key
    code_lines: int = 0
    formulas: int = 0
    images: int = 0

    def prose(self) -> str:
        return " ".join(p for p in self.pieces if p not in (_CODE, _FORMULA))

    def text(self, language: str) -> str:
        """The text, each code block or formula as a marker; several in a row with
        nothing between them read as one ("[code] [code] [code]" told nothing)."""
        markers = MARKERS[language]
        pieces, last = [], None
        for piece in self.pieces:
            if piece in markers or piece.strip():
                if piece in markers and piece == last:
                    continue
                last = piece
            pieces.append(piece)
        text = " ".join(" ".join(markers.get(p, p) for p in pieces).split())
        return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def _plain(tokens: list[Token]) -> _Plain:
    plain = _Plain()
    in_footnotes = False
    for token in tokens:
        if token.type == "footnote_block_open":
            in_footnotes = True
        elif token.type == "footnote_block_close":
            in_footnotes = False
        elif in_footnotes:
            continue
        elif token.type == "inline":
            text: list[str] = []
            for child in token.children or []:
                if child.type in ("text", "code_inline"):
                    text.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    text.append(" ")
                elif child.type.startswith("math_inline"):
                    plain.pieces.extend(("".join(text), _FORMULA))
                    plain.formulas += 1
                    text = []
                elif child.type == "image":
                    plain.images += 1
            plain.pieces.append("".join(text))
        elif token.type in ("fence", "code_block"):
            if token.type == "fence" and _fence_lang(token).lower() == "math":
                plain.pieces.append(_FORMULA)
                plain.formulas += 1
            else:
                plain.pieces.append(_CODE)
                plain.code_lines += max(1, token.content.count("\n"))
        elif token.type == "math_block":
            plain.pieces.append(_FORMULA)
            plain.formulas += 1
    return plain


def detect_language(text: str) -> str:
    """Return "zh-hans" when CJK characters outnumber Latin words, else "en"."""
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh-hans" if cjk > words else "en"


def reading_minutes(
    text: str, *, code_lines: int = 0, formulas: int = 0, images: int = 0
) -> int:
    minutes = (
        len(_CJK.findall(text)) / CJK_CHARS_PER_MINUTE
        + len(_LATIN_WORD.findall(text)) / WORDS_PER_MINUTE
        + code_lines / CODE_LINES_PER_MINUTE
        + (formulas * SECONDS_PER_FORMULA + images * SECONDS_PER_IMAGE) / 60
    )
    return max(1, round(minutes))


def _ellipsis(text: str, language: str) -> str:
    """The cut text and an ellipsis: "……" in Chinese, which sets it two full-width
    characters long (one, in a Chinese font, is a short centred "⋯")."""
    return text.rstrip(_TRAILING_PUNCT) + ("……" if language == "zh-hans" else "…")


def excerpt(text: str, language: str) -> str:
    """About 120 characters of Chinese or 50 words, cut at a sentence or word end."""
    text = " ".join(text.split())
    if language != "zh-hans":
        words = text.split(" ")
        if len(words) <= EXCERPT_WORDS:
            return text
        head = words[:EXCERPT_WORDS]
        for i in range(EXCERPT_WORDS - 1, EXCERPT_WORDS * 2 // 3, -1):
            if head[i][-1] in ".!?。！？":
                head = head[: i + 1]
                break
        return _ellipsis(" ".join(head), language)
    if len(text) <= EXCERPT_CJK_CHARS:
        return text
    window = text[:EXCERPT_CJK_CHARS]
    opening = window.rfind("[")
    if opening > window.rfind("]") and text.startswith(
        tuple(MARKERS["zh-hans"].values()), opening
    ):
        window = window[:opening]  # never cut inside "[代码]"
    floor = EXCERPT_CJK_CHARS // 2
    for marks in (_ZH_STOPS, _ZH_PAUSES):
        cut = max(window.rfind(mark) for mark in marks)
        if cut >= floor:
            return _ellipsis(window[: cut + 1], language)
    # Mid-word in a Latin term: back up to the word's start if it is close.
    match = re.search(r"[A-Za-z0-9_]+$", window)
    next_char = text[len(window) : len(window) + 1]
    if match and match.start() >= floor and next_char.isalnum():
        window = window[: match.start()]
    return _ellipsis(window, language)


# Public API -----------------------------------------------------------------


def _clean_source(text: str) -> str:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = _SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group())), text)


def clean_line(text: str) -> str:
    """A title or a name as one line of plain text (see _LINE_CONTROL)."""
    text = _SURROGATE.sub("\ufffd", _LINE_CONTROL.sub(" ", text or ""))
    return " ".join(text.split())


def _fallback(text: str, warning: str) -> Rendered:
    """The escaped source, for posts we refuse or fail to render."""
    head = " ".join(text[:20_000].split())
    language = detect_language(head)
    return Rendered(
        html=sanitize(f'<pre class="source-fallback">{escapeHtml(text)}</pre>'),
        excerpt=excerpt(head, language),
        reading_minutes=reading_minutes(text),
        language=language,
        warnings=[warning],
    )


def _unique(warnings: list[str]) -> list[str]:
    unique = list(dict.fromkeys(warnings))
    if len(unique) > MAX_WARNINGS:
        extra = len(unique) - MAX_WARNINGS
        unique = [*unique[:MAX_WARNINGS], f"… and {extra} more warnings."]
    return unique


def render(text: str) -> Rendered:
    """Render a post body. Never raises: problems become `warnings`."""
    text = _clean_source(text)
    if len(text) > MAX_SOURCE_CHARS:
        return _fallback(
            text,
            f"This text has {len(text):,} characters, more than the "
            f"{MAX_SOURCE_CHARS:,} that can be rendered; it is shown as plain text.",
        )
    try:
        rel, hosts = _link_settings()
        env: dict = {
            "warnings": [],
            "rel": rel,
            "hosts": hosts,
            "highlight_budget": MAX_HIGHLIGHTED_CHARS,
        }
        tokens = _MD.parse(text, env)
        toc = _assign_heading_ids(tokens)
        _link_urls_after_wide(_MD, tokens)
        _trim_autolinks(_MD, tokens)
        body = sanitize(_MD.renderer.render(tokens, _MD.options, env))
        plain = _plain(tokens)
    except Exception:
        logger.exception("Markdown rendering failed")
        return _fallback(text, "This text could not be rendered; shown as plain text.")
    prose = plain.prose()
    language = detect_language(prose)
    return Rendered(
        html=body,
        excerpt=excerpt(plain.text(language), language),
        reading_minutes=reading_minutes(
            prose,
            code_lines=plain.code_lines,
            formulas=plain.formulas,
            images=plain.images,
        ),
        language=language,
        toc=toc,
        warnings=_unique(env["warnings"]),
    )


def plain_text(text: str) -> str:
    """The plain text of a Markdown snippet, code and formulas as markers."""
    text = _clean_source(text)[:MAX_SOURCE_CHARS]
    try:
        plain = _plain(_MD.parse(text, {"warnings": []}))
    except Exception:
        logger.exception("Markdown parsing failed")
        return " ".join(text.split())
    return plain.text(detect_language(plain.prose()))


def images_without_alt(text: str) -> list[str]:
    """The address of each image in `text` that has no alt text; images written in
    code are not images."""
    text = _clean_source(text)[:MAX_SOURCE_CHARS]
    return [
        token.attrGet("src") or ""
        for block in _MD.parse(text, {"warnings": []})
        if block.type == "inline"
        for token in block.children or ()
        if token.type == "image" and not token.content.strip()
    ]


def markdownify(text: str) -> str:
    """django-markdownx's preview: the public page's HTML, in its detected language
    (so a Chinese post is set as on its page), after any warnings."""
    rendered = render(text)
    body = f'<div lang="{rendered.language}">{rendered.html}</div>'
    if not rendered.warnings:
        return body
    items = "".join(f"<li>{html.escape(w)}</li>" for w in rendered.warnings)
    return f'<div class="render-warnings" role="alert"><ul>{items}</ul></div>\n{body}'
