"""Real-browser tests: Playwright driving Debian's Chromium against `live_server`.

Every context a test opens is guarded: a request to any host but the live server's,
a console error or an uncaught page error fails the test, unless the test declared
that exact console message as expected (`guard.expect_console(...)`).
"""

import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in the main thread; the ORM calls the
# tests make there are still plain synchronous ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ROOT = Path(__file__).resolve().parents[2]
AXE_PREFIX = ROOT / "var" / "npm"
AXE_PATH = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE_PATH.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the browser tests")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE_PREFIX)]
            + ["axe-core@4"],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return AXE_PATH


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is needed for the browser tests")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Guard:
    """Collects what a context did that a healthy page never does."""

    def __init__(self, allowed_netloc: str):
        self.allowed_netloc = allowed_netloc
        self.requests: list[str] = []
        self.offsite: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.expected: list[re.Pattern] = []

    def expect_console(self, pattern: str) -> None:
        """Allow console errors the test causes on purpose (e.g. a refused upload).

        `pattern` is searched in "<message> [<source URL>]", so it can pin both.
        """
        self.expected.append(re.compile(pattern))

    def watch(self, context) -> None:
        context.on("request", self.on_request)
        context.on("console", self.on_console)
        context.on("weberror", lambda error: self.page_errors.append(str(error.error)))

    def on_request(self, request) -> None:
        url = request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob"):
            return
        if parts.scheme not in ("http", "https") or parts.netloc != self.allowed_netloc:
            self.offsite.append(url)

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        location = message.location or {}
        text = f"{message.text} [{location.get('url', '?')}]"
        if not any(pattern.search(text) for pattern in self.expected):
            self.console_errors.append(text)

    def problems(self) -> list[str]:
        return (
            [f"request to another host: {url}" for url in self.offsite]
            + [f"console error: {text}" for text in self.console_errors]
            + [f"page error: {text}" for text in self.page_errors]
        )


@pytest.fixture
def guard(live_server) -> Guard:
    return Guard(urlsplit(live_server.url).netloc)


@pytest.fixture
def new_context(browser, live_server, guard):
    """Open guarded browser contexts on the live server; closes and checks them."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "en-US")
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        guard.watch(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    problems = guard.problems()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def demo_content(live_server):
    """The demo posts, loaded into the database the live server reads.

    Transactional tests flush the database after each test, so every test that
    needs posts loads them again.
    """
    call_command("load_demo_content", stdout=io.StringIO())


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
