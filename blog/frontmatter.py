"""Markdown files with front matter, as Hugo, Jekyll and Hexo write them.

Used by the import_posts and export_posts commands.
"""

import datetime
import re
import tomllib
from collections.abc import Callable
from typing import Any

import yaml
from markdown_it import MarkdownIt

_YAML = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.M)
_TOML = re.compile(r"\A\+\+\+[ \t]*\n(.*?)^\+\+\+[ \t]*$\n?", re.DOTALL | re.M)
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")
# ![alt](url "title"), ![alt](<url with spaces>), one level of parentheses in a URL.
_IMAGE = re.compile(
    r"(?P<head>!\[(?:\\.|[^\\\]])*\]\([ \t]*)"
    r"(?:<(?P<angled>[^<>\n]*)>|(?P<bare>[^\s<>()]*(?:\([^\s()]*\)[^\s<>()]*)*))"
    r"(?P<tail>(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*\))"
)
# A code span ends at its paragraph, so it never crosses a blank line.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)", re.DOTALL)
_CODE_BLOCKS = MarkdownIt("commonmark")


class FrontMatterError(ValueError):
    pass


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing datetimes as ISO 8601 with a T, as Hugo and Hexo do."""


_Dumper.add_representer(
    datetime.datetime,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:timestamp", value.isoformat()
    ),
)


def parse(text: str) -> tuple[dict[str, Any], str]:
    """Split a file into its front matter (keys lower-cased) and Markdown body."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if match := _YAML.match(text):
        try:
            meta = yaml.safe_load(match[1])
        except yaml.YAMLError as exc:
            raise FrontMatterError(
                f"invalid YAML front matter: {_problem(exc)}"
            ) from exc
    elif match := _TOML.match(text):
        try:
            meta = tomllib.loads(match[1])
        except tomllib.TOMLDecodeError as exc:
            raise FrontMatterError(f"invalid TOML front matter: {exc}") from exc
    else:
        raise FrontMatterError("no front matter: the file must start with --- or +++")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontMatterError("the front matter is not a mapping of keys to values")
    body = _LEADING_BLANK_LINES.sub("", text[match.end() :]).rstrip()
    return {str(key).lower(): value for key, value in meta.items()}, body


def dump(meta: dict[str, Any], body: str) -> str:
    front = yaml.dump(meta, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    # Bodies typed in the admin have the browser's \r\n line ends.
    body = body.replace("\r\n", "\n").strip()
    return f"---\n{front}---\n\n{body}\n"


def replace_images(body: str, replace: Callable[[str], str | None]) -> str:
    """Rewrite the URL of every Markdown image outside code; None keeps the URL."""
    code = _code_ranges(body)

    def substitute(match: re.Match[str]) -> str:
        if any(start <= match.start() < end for start, end in code):
            return match[0]
        url = match["bare"] if match["angled"] is None else match["angled"]
        new_url = replace(url) if url else None
        if new_url is None or new_url == url:
            return match[0]
        if re.search(r"[\s()<>]", new_url):
            new_url = f"<{new_url}>"
        return f"{match['head']}{new_url}{match['tail']}"

    return _IMAGE.sub(substitute, body)


def _code_ranges(body: str) -> list[tuple[int, int]]:
    line_starts = [0]
    for line in body.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    ranges = [
        (
            line_starts[token.map[0]],
            line_starts[min(token.map[1], len(line_starts) - 1)],
        )
        for token in _CODE_BLOCKS.parse(body)
        if token.type in ("fence", "code_block") and token.map
    ]
    ranges += [match.span() for match in _CODE_SPAN.finditer(body)]
    return ranges


def _problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem and exc.problem_mark:
        # +2: marks count from 0, and from the line after the opening ---.
        return f"{exc.problem} (line {exc.problem_mark.line + 2})"
    return " ".join(str(exc).split())
