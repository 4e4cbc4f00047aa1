"""Screenshots for docs/screenshots/ (the README embeds some), in both themes at
desktop and phone sizes. Each also checks that the page does not scroll sideways,
the usual sign of a broken phone layout."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

DEVICES = {
    "desktop": {"viewport": DESKTOP},
    "phone": {"viewport": PHONE, "is_mobile": True, "has_touch": True},
}
THEMES = ["light", "dark"]
EDITOR_TITLE = "在线 softmax 的递推"
EDITOR_BODY = """分块计算注意力时，每来一个新块就修正行最大值 $m$ 和指数和 $\\ell$：

$$
\\ell^{\\mathrm{new}} = e^{m - m^{\\mathrm{new}}} \\ell + \\sum_{j} e^{S_{ij} - m^{\\mathrm{new}}}
$$

```python
def online_softmax(scores, block=64):
    m, l = float("-inf"), 0.0
    for start in range(0, len(scores), block):
        chunk = scores[start:start + block]
        m_new = max(m, max(chunk))
        l = l * math.exp(m - m_new) + sum(math.exp(s - m_new) for s in chunk)
        m = m_new
    return m, l
```

| 方法 | 显存 | 精确 |
| --- | --- | --- |
| 标准注意力 | $O(N^2)$ | 是 |
| FlashAttention | $O(N)$ | 是 |
"""


def scroll_to(page, selector: str, margin: int = 16) -> None:
    page.locator(selector).first.evaluate(
        "(el, margin) => window.scrollTo(0, el.getBoundingClientRect().top"
        " + window.scrollY - margin)",
        margin,
    )


def shoot_both_themes(page, directory, name: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px"
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        page.screenshot(path=directory / f"{name}-{theme}.png", animations="disabled")


def test_reader_page_screenshots(demo_content, new_context, screenshot_dir):
    for device, options in DEVICES.items():
        page = new_context(**options).new_page()
        page.goto("/")
        shoot_both_themes(page, screenshot_dir, f"home-{device}")

        page.goto("/posts/flash-attention/")
        # Where display math and the start of a code block share the screen.
        if device == "desktop":
            scroll_to(page, ".post-body h2:nth-of-type(3)")
        else:
            scroll_to(page, ".post-body h3", margin=420)
        shoot_both_themes(page, screenshot_dir, f"article-{device}")

        page.goto("/search/?q=注意力")
        page.locator(".search-snippet mark").first.wait_for()
        shoot_both_themes(page, screenshot_dir, f"search-{device}")


def test_admin_editor_screenshots(live_server, new_context, guard, screenshot_dir):
    # The author flow test logs in through the form; here a session cookie will do.
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("editor"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    for device, options in DEVICES.items():
        context = new_context(**options)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.goto("/admin/blog/post/add/")
        page.locator("#id_title").fill(EDITOR_TITLE)
        page.locator("#id_body").fill(EDITOR_BODY)
        page.locator(".markdownx-preview table").wait_for()
        page.locator(".markdownx-preview .code-block").wait_for()
        if device == "desktop":
            scroll_to(page, ".field-title")
        else:
            scroll_to(page, ".markdownx-preview", margin=120)
        shoot_both_themes(page, screenshot_dir, f"editor-{device}")
