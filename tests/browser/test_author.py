"""What an author does in the admin: write with the live preview, upload, draft,
preview, publish, and get unsaved text back after closing the tab."""

import base64
import re
from io import BytesIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from PIL import Image

from blog.models import Post
from tests.factories import PostFactory

from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

USERNAME = "editor"
PASSWORD = "a-long-browser-test-password"
TITLE = "Energy and sums, tested in a browser"
BODY = """Intro paragraph.

```python
def energy(m, c=299_792_458):
    return m * c ** 2
```

Inline $E=mc^2$ and a display sum:

$$\\sum_i x_i$$
"""
EXTRA = "\n\nA sentence typed just before the tab was closed."

DROP_FILE = """([name, type, base64]) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, {type}));
    const editor = document.getElementById("id_body");
    editor.focus();
    editor.setSelectionRange(editor.value.length, editor.value.length);
    editor.dispatchEvent(new DragEvent("drop", {
        dataTransfer: transfer, bubbles: true, cancelable: true,
    }));
}"""


def png_bytes() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (120, 80), (179, 38, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def png_base64() -> str:
    return base64.b64encode(png_bytes()).decode()


SVG_BASE64 = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
).decode()


# What the admin's own styles used to change in the preview.
STYLED_BODY = """Intro with `inline code` and a [link](https://example.com/).

## A second-level heading

| Name | Value |
|:-----|------:|
| alpha | 1 |

- first
- second
  - nested
- third

* [x] done
* [ ] open

Inline $\\frac{1}{$ and display:

$$\\frac{1}{$$

```python
x = 1
```

> A quote.
"""
STYLED_ELEMENTS = [
    ":scope > p",
    "h2",
    ".heading-anchor",
    "p > a",
    ":not(pre) > code",
    "table",
    "th",
    "td",
    ":scope > ul",
    ":scope > ul > li",
    "ul ul",
    "ul ul li",
    ".contains-task-list",
    ".task-list-item-checkbox",
    "code.math-error",
    "pre.math-error",
    ".code-block",
    "pre.highlight",
    "blockquote",
]
STYLE_PROPERTIES = [
    "font-family",
    "font-size",
    "font-weight",
    "line-height",
    "color",
    "background-color",
    "text-transform",
    "text-align",
    "text-decoration-line",
    "white-space",
    "vertical-align",
    "list-style-type",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "padding-top",
    "padding-left",
    "padding-right",
    "border-top-width",
    "border-top-style",
    "border-top-color",
]
# The preview's HTML, inside a <div lang> of its language.
PREVIEW_BODY = ".markdownx-preview > [lang]"
COMPUTED_STYLES = """([root, selectors, properties]) => {
    const container = document.querySelector(root);
    return Object.fromEntries(selectors.map((selector) => {
        const element = container.querySelector(selector);
        if (!element) return [selector, null];
        const style = getComputedStyle(element);
        return [selector, Object.fromEntries(
            properties.map((name) => [name, style.getPropertyValue(name)])
        )];
    }));
}"""


def log_in(page, next_path: str) -> None:
    page.goto(f"/admin/login/?next={next_path}")
    page.locator("#id_username").fill(USERNAME)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**{next_path}")


def test_author_writes_uploads_previews_publishes_and_recovers_text(
    demo_content, new_context, guard
):
    # The live server runs in this process, so the test settings (axes off) apply.
    assert settings.AXES_ENABLED is False
    get_user_model().objects.create_superuser(USERNAME, "editor@example.com", PASSWORD)
    context = new_context()
    page = context.new_page()
    log_in(page, "/admin/blog/post/add/")

    # Live preview: highlighted code and MathML from the server's renderer.
    page.locator("#id_title").fill(TITLE)
    body = page.locator("#id_body")
    body.fill(BODY)
    preview = page.locator(".markdownx-preview")
    preview.locator("math").first.wait_for()
    preview.locator(".code-block code span.k").first.wait_for()
    assert preview.locator("math").count() == 2
    assert preview.locator(".math-display math").count() == 1
    assert (
        page.locator("#id_slug").input_value() == "energy-and-sums-tested-in-a-browser"
    )

    # Dropping a PNG uploads it, inserts the Markdown and shows it in the preview.
    page.evaluate(DROP_FILE, ["diagram.png", "image/png", png_base64()])
    page.wait_for_function(
        "() => document.getElementById('id_body').value.includes('/media/uploads/')"
    )
    text = body.input_value()
    match = re.search(
        r"!\[diagram\]\((/media/uploads/\d{4}/\d{2}/\w+_120x80\.webp)\)", text
    )
    assert match, text
    image = preview.locator(f'img[src="{match[1]}"]')
    image.wait_for()
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "(src) => { const img = document.querySelector(`.markdownx-preview img[src='${src}']`);"
        " return img && img.complete && img.naturalWidth === 120; }",
        arg=match[1],
    )

    # A refused file shows the server's reason and leaves the text alone.
    guard.expect_console(
        r"status of 400 \(Bad Request\) \[https?://[^/]+/admin/markdownx/upload/\]$"
    )
    page.evaluate(DROP_FILE, ["evil.svg", "image/svg+xml", SVG_BASE64])
    error = page.locator(".markdownx-upload-errors li")
    error.wait_for()
    assert error.inner_text().startswith("evil.svg: ")
    assert page.locator(".markdownx-upload-errors").get_attribute("role") == "alert"
    assert body.input_value() == text

    # Save as a draft, then see it on the site as staff, with the preview banner.
    page.locator("#id_status").select_option("draft")
    shortcuts = page.locator(".field-published_at .datetimeshortcuts")
    shortcuts.get_by_role("link", name="Today").click()
    shortcuts.get_by_role("link", name="Now").click()
    assert re.fullmatch(
        r"\d{4}-\d{2}-\d{2}", page.locator("#id_published_at_0").input_value()
    )
    assert re.fullmatch(
        r"\d{2}:\d{2}:\d{2}", page.locator("#id_published_at_1").input_value()
    )
    page.locator("input[name=_continue]").click()
    page.locator(".messagelist .success").wait_for()
    post = Post.objects.get(title=TITLE)
    assert post.status == Post.Status.DRAFT
    change_url = page.url
    page.goto(post.get_absolute_url())
    assert "this is a draft" in page.locator(".preview-banner").inner_text()
    assert page.locator("h1").inner_text() == TITLE
    anonymous = new_context().new_page()
    guard.expect_console(r"status of 404 \(Not Found\) \[https?://[^/]+/posts/")
    assert anonymous.goto(post.get_absolute_url()).status == 404

    # Publish: anonymous readers see it first on the home page.
    page.goto(change_url)
    page.locator("#id_status").select_option("published")
    page.locator("input[name=_continue]").click()
    page.locator(".messagelist .success").wait_for()
    reader = new_context().new_page()
    reader.goto("/")
    assert reader.locator(".entry-title").first.inner_text() == TITLE

    # Crash recovery: type, close the tab unsaved, come back, restore, save.
    body = page.locator("#id_body")
    body.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(EXTRA)
    typed = body.input_value()
    assert typed.endswith(EXTRA)
    page.wait_for_timeout(1000)
    page.close()

    page = context.new_page()
    page.goto(change_url)
    offer = page.locator(".editor-backup")
    offer.wait_for()
    assert page.locator("#id_body").input_value() == post_body(TITLE)
    offer.get_by_role("button", name="Restore unsaved text").click()
    assert page.locator("#id_body").input_value() == typed
    assert offer.count() == 0
    page.locator("input[name=_save]").click()
    page.locator(".messagelist .success").wait_for()
    assert post_body(TITLE) == typed.replace("\r\n", "\n")

    page.goto(change_url)
    page.locator("#id_body").wait_for()
    assert page.locator(".editor-backup").count() == 0
    assert page.locator("#id_body").input_value() == post_body(TITLE)


def post_body(title: str) -> str:
    return Post.objects.get(title=title).body.replace("\r\n", "\n")


def test_preview_is_styled_like_the_public_page(new_context, guard):
    get_user_model().objects.create_superuser(USERNAME, "editor@example.com", PASSWORD)
    post = PostFactory(title="Styled like the page", body=STYLED_BODY)
    change_url = f"/admin/blog/post/{post.pk}/change/"
    for options in (
        {"viewport": DESKTOP, "color_scheme": "light"},
        {
            "viewport": PHONE,
            "color_scheme": "dark",
            "is_mobile": True,
            "has_touch": True,
        },
    ):
        page = new_context(**options).new_page()
        page.goto(post.get_absolute_url())
        public = page.evaluate(
            COMPUTED_STYLES, [".post-body", STYLED_ELEMENTS, STYLE_PROPERTIES]
        )
        log_in(page, change_url)
        page.locator(".markdownx-preview .code-block").wait_for()
        preview = page.evaluate(
            COMPUTED_STYLES, [PREVIEW_BODY, STYLED_ELEMENTS, STYLE_PROPERTIES]
        )
        assert all(public.values()) and all(preview.values())
        differences = {
            f"{selector} {name}": (public[selector][name], preview[selector][name])
            for selector in STYLED_ELEMENTS
            for name in STYLE_PROPERTIES
            if public[selector][name] != preview[selector][name]
        }
        assert not differences, (options["viewport"], differences)
        # What the admin's CSS had made of them: blue module bars, 11px capitals,
        # lists 160px to the right without bullets, yellow formula errors.
        assert preview["h2"]["background-color"] == "rgba(0, 0, 0, 0)"
        assert preview["th"]["text-transform"] == "none"
        assert preview[":scope > ul"]["margin-left"] == "0px"
        assert preview[":scope > ul > li"]["list-style-type"] == "disc"
        assert preview["code.math-error"]["color"] == public["code.math-error"]["color"]

        boxes = page.evaluate(
            """() => ({
                page: document.documentElement.scrollWidth,
                viewport: window.innerWidth,
                preview: document.querySelector(".markdownx-preview").getBoundingClientRect().right,
                column: document.querySelector(".markdownx").getBoundingClientRect().right,
            })"""
        )
        assert boxes["page"] <= boxes["viewport"], boxes
        assert boxes["preview"] <= boxes["column"] <= boxes["viewport"], boxes


def test_preview_stays_in_view_beside_a_long_post(new_context, guard):
    # It was 640 px tall at the top of a textarea that grows with the text: at the
    # end of a long post the author saw no preview at all.
    get_user_model().objects.create_superuser(USERNAME, "editor@example.com", PASSWORD)
    body = "\n\n".join(f"Paragraph {n}: the loss $L_{{{n}}}$." for n in range(150))
    post = PostFactory(title="A long post", body=body)
    change_url = f"/admin/blog/post/{post.pk}/change/"
    page = new_context(viewport=DESKTOP).new_page()
    log_in(page, change_url)
    page.locator(".markdownx-preview math").first.wait_for()
    editor = page.locator("#id_body")
    editor.focus()
    page.keyboard.press("Control+End")
    page.evaluate(
        "() => document.getElementById('id_body').scrollIntoView({block: 'end'})"
    )
    boxes = page.evaluate(
        """() => {
            const editor = document.getElementById("id_body").getBoundingClientRect();
            const preview = document.querySelector(".markdownx-preview")
                .getBoundingClientRect();
            return {editor: editor.height, top: preview.top, bottom: preview.bottom,
                    height: preview.height, viewport: window.innerHeight};
        }"""
    )
    assert boxes["editor"] > 2 * boxes["viewport"], boxes
    assert boxes["top"] >= 0 and boxes["bottom"] <= boxes["viewport"], boxes
    assert boxes["height"] > 0.8 * boxes["viewport"], boxes
    # At the end of the Markdown the preview shows the end of the post, and halfway
    # down, the middle.
    last = page.locator(".markdownx-preview p").last
    page.wait_for_function(
        """() => {
            const p = document.querySelector(".markdownx-preview");
            return p.scrollTop > 0 && p.scrollTop + p.clientHeight >= p.scrollHeight - 2;
        }"""
    )
    assert "Paragraph 149" in last.inner_text()
    page.evaluate(
        """() => {
            const box = document.getElementById("id_body").getBoundingClientRect();
            window.scrollBy(0, box.top + (box.height - window.innerHeight) / 2);
        }"""
    )
    page.wait_for_function(
        """() => {
            const p = document.querySelector(".markdownx-preview");
            const share = p.scrollTop / (p.scrollHeight - p.clientHeight);
            return share > 0.4 && share < 0.6;
        }"""
    )


def test_chinese_preview_is_set_like_the_chinese_page(new_context, guard):
    # The preview did not know the text's language: Chinese was set with English
    # line spacing, and quotes and dashes came from the Latin font.
    get_user_model().objects.create_superuser(USERNAME, "editor@example.com", PASSWORD)
    post = PostFactory(
        title="中文预览",
        body="## 为什么要模仿“软标签”\n\n" + "他说“你好”——然后走了……" * 4,
    )
    page = new_context(viewport=DESKTOP).new_page()
    selectors = [":scope > p", "h2"]
    properties = ["font-family", "line-height", "letter-spacing", "font-size"]
    page.goto(post.get_absolute_url())
    public = page.evaluate(COMPUTED_STYLES, [".post-body", selectors, properties])
    log_in(page, f"/admin/blog/post/{post.pk}/change/")
    page.locator(".markdownx-preview p").wait_for()
    assert page.locator(PREVIEW_BODY).get_attribute("lang") == "zh-hans"
    preview = page.evaluate(COMPUTED_STYLES, [PREVIEW_BODY, selectors, properties])
    assert preview == public
    assert "Inkstone CJK Punctuation" in preview[":scope > p"]["font-family"]
    quote_width = page.evaluate(
        """() => {
          const text = document.querySelector(".markdownx-preview p").firstChild;
          const range = document.createRange();
          const at = text.textContent.indexOf("“");
          range.setStart(text, at);
          range.setEnd(text, at + 1);
          return range.getBoundingClientRect().width
            / parseFloat(getComputedStyle(text.parentElement).fontSize);
        }"""
    )
    assert quote_width >= 0.9


def test_editor_speaks_the_admins_language(new_context, guard, settings):
    # The editor's own scripts were English in a Chinese admin.
    settings.LANGUAGE_CODE = "zh-hans"
    editor = get_user_model().objects.create_superuser(
        USERNAME, "editor@example.com", PASSWORD
    )
    post = PostFactory(body="原来的正文。")
    change_url = f"/admin/blog/post/{post.pk}/change/"
    page = new_context(viewport=DESKTOP).new_page()
    log_in(page, change_url)
    page.evaluate(
        """(key) => localStorage.setItem(key, JSON.stringify({
             savedAt: new Date().toISOString(), fields: {body: "没保存的正文。"}}))""",
        f"inkstone-backup:{editor.pk}:{change_url}",
    )
    page.reload()
    offer = page.locator(".editor-backup")
    assert "未保存的版本" in offer.locator("p").inner_text()
    offer.get_by_role("button", name="恢复未保存的内容").click()
    assert page.locator("#id_body").input_value() == "没保存的正文。"

    page.route("**/markdownx/upload/", lambda route: route.fulfill(status=413))
    guard.expect_console(r"status of 413 \(Payload Too Large\)")
    page.locator(".markdownx-upload input[type=file]").set_input_files(
        files=[{"name": "图.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    error = page.locator(".markdownx-upload-errors li")
    assert error.inner_text() == "图.png：文件太大，服务器无法接收。"


def test_author_on_a_phone_inserts_an_image_with_the_button(new_context, guard):
    author = get_user_model().objects.create_superuser(
        USERNAME, "editor@example.com", PASSWORD
    )
    post = PostFactory(author=author, body="Existing text.")
    change_url = f"/admin/blog/post/{post.pk}/change/"
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    # Playwright has Chromium intercept file choosers once a listener exists, without
    # waiting for it: a key press sent straight after could beat it (1 run in 5).
    page.on("filechooser", lambda chooser: None)
    log_in(page, change_url)

    button = page.get_by_role("button", name="Insert image…")
    assert button.is_visible()
    help_text = page.locator(f"#{button.get_attribute('aria-describedby')}")
    assert "Drag or paste images" in help_text.inner_text()
    assert help_text.is_visible()

    # From the keyboard too; the caret was never placed, so the image goes last.
    button.focus()
    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Enter")
    chooser = chooser_info.value
    assert chooser.element.get_attribute("accept") == "image/*"
    chooser.set_files(
        {"name": "loss curve.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    body = page.locator("#id_body")
    page.wait_for_function(
        "() => document.getElementById('id_body').value.includes('/media/uploads/')"
    )
    text = body.input_value()
    match = re.fullmatch(
        r"Existing text\.!\[loss curve\]\((/media/uploads/\d{4}/\d{2}/\w+_120x80\.webp)\)",
        text,
    )
    assert match, text
    # As after a drop: the suggested alt text is selected for the author to replace.
    selected = page.evaluate(
        "() => { const e = document.getElementById('id_body');"
        " return e.value.slice(e.selectionStart, e.selectionEnd); }"
    )
    assert selected == "loss curve"
    page.locator(f'.markdownx-preview img[src="{match[1]}"]').wait_for()

    # A second image straight away goes after the first, not inside its brackets.
    with page.expect_file_chooser() as chooser_info:
        button.click()
    chooser_info.value.set_files(
        {"name": "accuracy.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    page.wait_for_function(
        "() => document.getElementById('id_body').value.includes('![accuracy]')"
    )
    assert re.fullmatch(
        r"Existing text\.!\[loss curve\]\(/media/uploads/[^)]+\)"
        r"!\[accuracy\]\(/media/uploads/[^)]+\)",
        body.input_value(),
    ), body.input_value()


def test_unsaved_text_is_offered_back_only_to_the_account_that_typed_it(
    new_context, guard
):
    # It was kept by page alone: the next person to sign in on the browser was
    # offered the last one's unsaved text.
    get_user_model().objects.create_superuser(USERNAME, "editor@example.com", PASSWORD)
    get_user_model().objects.create_superuser("second", "second@example.com", PASSWORD)
    post = PostFactory(body="Saved text.")
    change_url = f"/admin/blog/post/{post.pk}/change/"
    page = new_context(viewport=DESKTOP).new_page()
    log_in(page, change_url)
    page.locator("#id_body").fill("A confidential draft, not saved.")
    page.wait_for_function(
        "() => Object.keys(localStorage).some(k => k.startsWith('inkstone-backup:'))"
    )
    page.locator("#logout-form button").click()
    page.goto(f"/admin/login/?next={change_url}")
    page.locator("#id_username").fill("second")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**{change_url}")
    page.locator(".markdownx-preview p").wait_for()
    assert page.locator(".editor-backup").count() == 0
    assert page.locator("#id_body").input_value() == "Saved text."
    page.locator("#logout-form button").click()
    log_in(page, change_url)
    page.locator(".editor-backup").wait_for()
