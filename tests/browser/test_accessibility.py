"""axe-core on the reader pages, in the light and dark themes."""

import pytest

from .helpers import READER_PAGES, blocking, format_violations, run_axe

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("scheme", "toggled"), [("light", "dark"), ("dark", "light")])
def test_reader_pages_have_no_serious_axe_violations(
    scheme, toggled, demo_content, new_context, guard, axe_script
):
    """Each page as the OS colour scheme shows it, then after the theme toggle."""
    guard.expect_console(r"status of 404 \(Not Found\) \[[^\]]+/posts/no-such-post/\]$")
    # axe goes in as a script tag, which the site's CSP rightly refuses.
    page = new_context(color_scheme=scheme, bypass_csp=True).new_page()
    report, failures = [], []
    for name, (path, ready) in READER_PAGES.items():
        page.goto(path)
        page.locator(ready).first.wait_for(state="attached")
        assert page.locator("html").get_attribute("data-theme") is None
        for label in (scheme, f"toggled-{toggled}"):
            if label != scheme:
                page.locator(".theme-toggle").click()
                assert page.locator("html").get_attribute("data-theme") == toggled
            violations = run_axe(page, axe_script)
            report.append(format_violations(f"{name} {label}", violations))
            failures.append(format_violations(f"{name} {label}", blocking(violations)))
        page.evaluate("localStorage.removeItem('inkstone-theme')")
    print("\n".join(filter(None, report)) or f"{scheme}: no axe violations at all")
    failures = "\n".join(filter(None, failures))
    assert not failures, f"axe found serious or critical violations:\n{failures}"
