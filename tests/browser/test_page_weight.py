"""What a first visit costs: bytes transferred, and hosts contacted."""

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

BUDGET_BYTES = 100 * 1024
# Everything but images (and media): HTML, CSS, JS, fonts, and any fetches.
COUNTED_TYPES = {"document", "stylesheet", "script", "font", "fetch", "xhr"}
PATHS = ["/", "/posts/flash-attention/", "/search/?q=注意力"]


def load_cold(context, path: str) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Load `path` with the HTTP cache off.

    Returns every requested URL, and (url, resource type, response body bytes as
    transferred) for each finished request.
    """
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    started, finished = [], []
    page.on("request", lambda request: started.append(request.url))
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(path)
    page.wait_for_load_state("networkidle")
    responses = [
        (r.url, r.resource_type, r.sizes()["responseBodySize"]) for r in finished
    ]
    page.close()
    return started, responses


def test_first_visits_are_light_and_stay_on_this_host(
    demo_content, new_context, live_server
):
    host = urlsplit(live_server.url).netloc
    context = new_context()
    visits = {path: load_cold(context, path) for path in PATHS}
    for path, (started, _) in visits.items():
        assert len(started) >= 5, path  # the page, two stylesheets, two scripts
        assert [url for url in started if urlsplit(url).netloc != host] == [], path

    _, home = visits["/"]
    counted = [(url, kind, size) for url, kind, size in home if kind in COUNTED_TYPES]
    total = sum(size for _, _, size in counted)
    breakdown = "\n".join(f"{size:>8}  {kind:<10} {url}" for url, kind, size in counted)
    print(f"\nhome page, cold: {total} bytes in {len(counted)} responses\n{breakdown}")
    assert {kind for _, kind, _ in counted} >= {"document", "stylesheet", "script"}
    assert total <= BUDGET_BYTES, f"{total} bytes > {BUDGET_BYTES}:\n{breakdown}"
