"""Chinese-aware full-text search inside PostgreSQL.

PostgreSQL's parser does not segment Chinese: "大模型中的幻觉问题" would be one token.
Like Lucene's CJK analyzer, we split every run of Han characters into overlapping
bigrams ("幻觉问题" -> "幻觉 觉问 问题") before `to_tsvector`, and split queries the same
way, matching a Chinese word as a phrase of adjacent bigrams. Latin words go through
the `english` configuration, so "attentions" finds "attention". bench/search_eval.py
compares this with jieba's dictionary segmentation on a labelled query set.
"""

import re
from html import escape, unescape
from typing import NamedTuple

from django.contrib.postgres.search import SearchQuery
from django.utils.safestring import SafeString, mark_safe

CONFIG = "english"
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
SEARCH_CANDIDATES = 300

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RUN = re.compile(f"[{_HAN}]+")
# Query terms: runs of Han characters, or runs of other letters/digits.
_TERM = re.compile(f"[{_HAN}]+|[^\\W{_HAN}]+(?:['’][^\\W{_HAN}]+)?")


# Dropped with their content: heading anchors ("#"), MathML (its TeX annotation and
# token soup are noise in snippets), copy buttons.
_DROPPED = re.compile(
    r'<a class="heading-anchor"[^>]*>.*?</a>|<math\b.*?</math>|<button\b.*?</button>',
    re.S,
)
# Block-level boundaries become spaces; inline tags vanish, so "借助<strong>在线</strong>"
# stays "借助在线" rather than gaining spaces Chinese does not have.
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|h[1-6]|li|ul|ol|pre|blockquote|table|tr|td|th|thead|tbody|section|"
    r"figure|figcaption|hr|br|dd|dt|dl)\b[^>]*>",
    re.I,
)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def html_to_text(html: str) -> str:
    text = _BLOCK_TAG.sub(" ", _DROPPED.sub(" ", html))
    return _SPACE.sub(" ", unescape(_TAGS.sub("", text))).strip()


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


# torch.nn.functional.softmax, k.transpose, std::vector, ptr->next: PostgreSQL's
# parser keeps a dotted name whole (as a host name), so a search for one of its parts
# found nothing. Its parts are indexed after it as well.
_DOTTED_NAME = re.compile(r"\b\w+(?:(?:\.|::|->)\w+)+\b")


def _with_parts(match: re.Match) -> str:
    name = match.group()
    if not re.search(r"[^\W\d]", name):
        return name  # a number such as 3.14
    return name + " " + " ".join(re.split(r"\.|::|->", name))


def segment(text: str) -> str:
    """Text with every Han run replaced by its space-separated bigrams, and each
    dotted name followed by its parts."""
    text = _DOTTED_NAME.sub(_with_parts, text)
    return _HAN_RUN.sub(lambda m: " " + " ".join(_bigrams(m.group())) + " ", text)


# A dotted name in a query (torch.amp, std::vector, ptr->next) is one term, searched
# as its parts in a row, as segment() indexes them after it: as separate words,
# "torch.amp" found every post that says "torch". (Hyphenated names are left to
# PostgreSQL's parser, which splits "GPT-3.5" into "gpt" and "-3.5".)
_COMPOUND = re.compile(f"[^\\W_{_HAN}]+(?:(?:\\.|::|->)[^\\W_{_HAN}]+)+")
_COMPOUND_SEPARATOR = re.compile(r"\.|::|->")


def query_terms(raw: str) -> list[str]:
    """The searchable terms of a user's query; quotes, operators and junk dropped."""
    cleaned = raw.encode("utf-8", "replace").decode("utf-8")[:MAX_QUERY_CHARS]
    terms: list[str] = []
    for term in _COMPOUND.findall(cleaned) + _TERM.findall(_COMPOUND.sub(" ", cleaned)):
        term = term.replace("’", "'").strip("_'").lower()
        if term and term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "").replace("'", "''") + "'"


def _term_tsquery(term: str, *, phrase: bool = True) -> str:
    joiner = " <-> " if phrase else " & "
    if _COMPOUND.fullmatch(term) and re.search(r"[^\W\d]", term):
        # A number such as 3.14 stays whole, as segment() leaves it.
        parts = _COMPOUND_SEPARATOR.split(term)
        return "(" + joiner.join(_lexeme(part) for part in parts) + ")"
    if _HAN_RUN.fullmatch(term):
        if len(term) == 1:
            return _lexeme(term) + ":*"
        return "(" + joiner.join(_lexeme(bigram) for bigram in _bigrams(term)) + ")"
    return _lexeme(term)


class Queries(NamedTuple):
    any_term: SearchQuery
    all_terms: SearchQuery
    # The same words with each Chinese word's bigrams ANDed instead of chained
    # with <->: a GIN index answers it without rechecking (detoasting) every row,
    # and it matches a superset of `any_term`.
    any_term_loose: SearchQuery
    is_loose_exact: bool


def build_queries(terms: list[str]) -> Queries:
    """Filter on any term, rank posts matching all terms first."""
    parts = [_term_tsquery(term) for term in terms]
    loose = [_term_tsquery(term, phrase=False) for term in terms]
    return Queries(
        any_term=SearchQuery(" | ".join(parts), search_type="raw", config=CONFIG),
        all_terms=SearchQuery(" & ".join(parts), search_type="raw", config=CONFIG),
        any_term_loose=SearchQuery(" | ".join(loose), search_type="raw", config=CONFIG),
        is_loose_exact=loose == parts,
    )


def _highlight_pattern(terms: list[str]) -> re.Pattern:
    pieces = []
    for term in sorted(terms, key=len, reverse=True):
        if _HAN_RUN.fullmatch(term):
            pieces.append(re.escape(term))
        else:
            # A crude stem so that "attentions" also marks "attention".
            stem = term[: max(4, len(term) - 2)] if len(term) > 4 else term
            pieces.append(r"\b" + re.escape(stem) + r"\w*")
    return re.compile("|".join(pieces), re.IGNORECASE)


def snippet(text: str, terms: list[str], width: int = 160) -> SafeString:
    """An HTML-escaped window of `text` around the first match, matches in <mark>."""
    if not terms:
        return mark_safe(escape(text[:width]))
    pattern = _highlight_pattern(terms)
    first = pattern.search(text)
    start = 0 if first is None else max(0, first.start() - width // 3)
    window = text[start : start + width]
    parts, last = [], 0
    for match in pattern.finditer(window):
        parts.append(escape(window[last : match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    parts.append(escape(window[last:]))
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    return mark_safe(prefix + "".join(parts) + suffix)
