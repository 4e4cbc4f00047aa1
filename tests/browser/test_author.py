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

from .helpers import ADMIN_FAVICON_404

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


def png_base64() -> str:
    buffer = BytesIO()
    Image.new("RGB", (120, 80), (179, 38, 30)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


SVG_BASE64 = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
).decode()


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
    guard.expect_console(ADMIN_FAVICON_404)
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
