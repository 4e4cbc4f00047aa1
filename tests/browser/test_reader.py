"""What a reader does: page through posts, read, follow tags, search, pick a theme."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from blog.models import Post
from tests.factories import PostFactory

from .conftest import PHONE

pytestmark = pytest.mark.browser

ARTICLE = "/posts/flash-attention/"
LIGHT_BACKGROUND = "rgb(253, 252, 249)"
DARK_BACKGROUND = "rgb(21, 23, 26)"

# Runs in every new document before the page's own scripts. Notes the theme and the
# body's background when <body> first exists (before the first paint), and the theme
# when DOMContentLoaded fires (this listener runs before any of the page's).
RECORD_FIRST_PAINT = """
(() => {
  const seen = window.__seen = {};
  const observer = new MutationObserver(() => {
    if (!document.body) return;
    observer.disconnect();
    seen.atBody = {
      theme: document.documentElement.getAttribute("data-theme"),
      background: getComputedStyle(document.body).backgroundColor,
    };
  });
  observer.observe(document, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", () => {
    seen.atDOMContentLoaded = document.documentElement.getAttribute("data-theme");
  });
})();
"""


def test_rel_next_links_page_through_every_published_post(demo_content, page):
    expected = list(Post.objects.published().values_list("title", flat=True))
    page.goto("/")
    assert page.locator("head link[rel=next]").get_attribute("href") == "?page=2"
    titles = page.locator(".entry-title").all_inner_texts()
    while page.locator(".pagination a[rel=next]").count():
        next_page = page.locator(".pagination a[rel=next]").get_attribute("href")
        page.locator(".pagination a[rel=next]").click()
        page.wait_for_url(re.compile(re.escape(next_page) + "$"))
        assert page.locator("head link[rel=prev]").count() == 1
        titles += page.locator(".entry-title").all_inner_texts()
    assert page.url.endswith("?page=3")
    assert titles == expected


def test_article_shows_highlighted_code_and_math_and_links_its_tags(demo_content, page):
    page.goto(ARTICLE)
    assert page.locator("h1").count() == 1
    title = page.locator("h1").inner_text()
    assert page.locator(".code-block pre.highlight code span").count() > 20
    classes = page.locator(".code-block code span[class]").evaluate_all(
        "spans => spans.map(span => span.className)"
    )
    assert {"k", "nf"} <= set(classes)  # Pygments: keyword, function name
    assert page.locator(".math-display math").count() > 0
    for math in (page.locator("math").first, page.locator(".math-display math").first):
        box = math.bounding_box()
        assert box is not None
        assert box["width"] > 0
        assert box["height"] > 0

    tag = page.locator(".post-header a[rel=tag]").first
    name = tag.inner_text()
    tag.click()
    page.wait_for_url(re.compile(r"/tags/"))
    assert name in page.locator("h1").inner_text()
    assert title in page.locator(".entry-title").all_inner_texts()


def test_search_in_chinese_from_the_header_highlights_matches(demo_content, page):
    page.goto("/")
    search = page.get_by_role("search", name="Site search")
    search.locator("input[name=q]").fill("注意力")
    search.locator("input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    assert page.locator(".entry").count() > 0
    marks = page.locator(".search-snippet mark").all_inner_texts()
    assert marks
    assert all(mark == "注意力" for mark in marks)
    assert page.locator("#search-page-q").input_value() == "注意力"


def test_theme_choice_survives_a_reload_without_a_flash(live_server, new_context):
    context = new_context(color_scheme="light")
    context.add_init_script(RECORD_FIRST_PAINT)
    page = context.new_page()
    page.goto("/")
    toggle = page.locator(".theme-toggle")
    assert toggle.is_visible()
    assert toggle.get_attribute("aria-pressed") == "false"
    assert page.evaluate("window.__seen") == {
        "atBody": {"theme": None, "background": LIGHT_BACKGROUND},
        "atDOMContentLoaded": None,
    }

    toggle.click()
    assert page.locator("html").get_attribute("data-theme") == "dark"
    assert toggle.get_attribute("aria-pressed") == "true"

    page.reload()
    assert page.evaluate("window.__seen") == {
        "atBody": {"theme": "dark", "background": DARK_BACKGROUND},
        "atDOMContentLoaded": "dark",
    }
    assert page.locator(".theme-toggle").get_attribute("aria-pressed") == "true"

    page.locator(".theme-toggle").click()
    page.goto("/archive/")
    assert page.evaluate("window.__seen") == {
        "atBody": {"theme": "light", "background": LIGHT_BACKGROUND},
        "atDOMContentLoaded": "light",
    }


def focused(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                tag: el.tagName.toLowerCase(),
                id: el.id,
                className: el.className,
                text: (el.innerText || el.value || "").trim(),
                name: el.getAttribute("name"),
                outlineStyle: style.outlineStyle,
                outlineWidth: parseFloat(style.outlineWidth),
                top: el.getBoundingClientRect().top,
            };
        }"""
    )


def test_keyboard_reaches_skip_link_navigation_and_search(live_server, page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["className"] == "skip-link"
    assert skip["top"] >= 0  # moved on screen when focused
    assert skip["outlineStyle"] != "none"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    page.goto("/")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(focused(page))
        if reached[-1]["name"] == "q":
            break
    labels = [item["text"] for item in reached]
    for label in ("Latest", "Tags", "Archive", "Feed"):
        assert label in labels
    assert reached[-1]["name"] == "q", labels
    for item in reached:
        assert item["outlineStyle"] != "none", item
        assert item["outlineWidth"] >= 2, item


def test_reading_and_searching_work_without_javascript(demo_content, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/")
    assert page.locator(".entry").count() == 10
    assert page.locator(".theme-toggle").is_hidden()

    page.locator(".entry-title a").first.click()
    page.wait_for_url("**/posts/**")
    assert page.locator(".post-body p").count() > 0

    page.goto(ARTICLE)
    assert page.locator(".code-block code span.k").count() > 0
    assert page.locator("math").first.bounding_box()["height"] > 0

    page.locator("#search-q").fill("注意力")
    page.locator("#search-q").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    assert page.locator(".search-snippet mark").count() > 0


def test_table_columns_keep_their_alignment_under_the_csp(live_server, page):
    post = PostFactory(
        body="| left | centre | right |\n|:--|:-:|--:|\n| a | b | 12.5 |",
    )
    page.goto(post.get_absolute_url())
    alignments = page.locator(".post-body td").evaluate_all(
        "cells => cells.map(cell => getComputedStyle(cell).textAlign)"
    )
    assert alignments == ["left", "center", "right"]


def test_display_math_is_set_in_a_math_font(demo_content, page):
    # In a text font (the generic `math` family on Debian's Chromium falls back to
    # one) a display sum stays text-sized: 15 px at a 17.85 px font, against 25-28
    # in a font with an OpenType MATH table.
    page.goto("/posts/llm-hallucination/")
    height, font_size = page.evaluate(
        """() => {
          const sum = [...document.querySelectorAll(".math-display mo")]
            .find(mo => mo.textContent.trim() === "∑");
          return [sum.getBoundingClientRect().height,
                  parseFloat(getComputedStyle(sum).fontSize)];
        }"""
    )
    assert height >= 1.3 * font_size


# The width of each of a paragraph's first curly quote, em dash and ellipsis, as a
# share of its font size.
PUNCTUATION_WIDTHS = """() => {
  const walker = document.createTreeWalker(
    document.querySelector(".post-body"), NodeFilter.SHOW_TEXT);
  const widths = {};
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest("pre, code, math")) continue;
    for (const char of ["“", "—", "…"]) {
      const at = node.textContent.indexOf(char);
      if (at < 0 || char in widths) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + 1);
      const size = parseFloat(getComputedStyle(node.parentElement).fontSize);
      widths[char] = range.getBoundingClientRect().width / size;
    }
  }
  return widths;
}"""


def test_chinese_punctuation_is_full_width_and_english_is_not(live_server, page):
    # From the Latin font first in the stack, “ was 0.33 em wide in Chinese text.
    chinese = PostFactory(body="他说“你好”——然后就走了……第二天又回来了。" * 3)
    english = PostFactory(body="She said “hello” — and left… then came back.")
    page.goto(chinese.get_absolute_url())
    assert page.locator("article.post").get_attribute("lang") == "zh-hans"
    widths = page.evaluate(PUNCTUATION_WIDTHS)
    assert set(widths) == {"“", "—", "…"}
    assert all(width >= 0.9 for width in widths.values()), widths

    page.goto(english.get_absolute_url())
    widths = page.evaluate(PUNCTUATION_WIDTHS)
    assert widths["“"] < 0.6, widths


def test_a_long_inline_formula_scrolls_in_its_paragraph_on_a_phone(
    live_server, new_context
):
    # The whole page used to scroll sideways (764 px wide at 390).
    terms = " + ".join(f"a_{{{n}}}" for n in range(1, 18))
    post = PostFactory(
        body=f"Sum ${terms}$ and some words.\n\nShort $\\sum_i^n x_i$ too."
    )
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.goto(post.get_absolute_url())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    boxes = page.locator(".post-body p").evaluate_all(
        "ps => ps.map(p => [p.scrollWidth > p.clientWidth,"
        " p.scrollHeight - p.clientHeight])"
    )
    assert boxes == [[True, 0], [False, 0]]  # scrolls sideways; nothing cut off


def test_a_neighbours_long_unbreakable_title_does_not_widen_a_phone_page(
    live_server, new_context
):
    # The previous/next links took the width of the title's longest word (458 px).
    long_word = "torch.nn.functional.scaled_dot_product_attention_and_friends"
    older = PostFactory(
        title=f"Versus {long_word}",
        published_at=timezone.now() - timedelta(days=2),
    )
    post = PostFactory(published_at=timezone.now() - timedelta(days=1))
    newer = PostFactory(
        title=f"Pneumonoultramicroscopicsilicovolcanoconiosis {long_word}"
    )
    page = new_context(
        viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True
    ).new_page()
    for shown in (post, older, newer):
        page.goto(shown.get_absolute_url())
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, shown
    page.goto(post.get_absolute_url())
    name = page.locator("a.post-nav__prev").evaluate("a => a.innerText")
    assert long_word in name.replace("\n", "")
