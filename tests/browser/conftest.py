"""The browsers (Debian's, never downloaded ones; tests/browser/engines.py), a desktop with
sound for them, and the app's fixtures."""

import os
import shutil

import pytest

# The browser tests use the same real stimuli and trained checkpoints as the app's tests.
from tests.studies.conftest import _media_root, media_library  # noqa: F401
from tests.studies.stimuli.conftest import debug_checkpoints, stimuli_dataset  # noqa: F401

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture
def page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def desktop():
    """One Xvfb screen and PulseAudio null sink per test process (tests/browser/engines.py)."""
    from tests.browser.engines import Desktop

    screen = Desktop()
    yield screen
    screen.close()


@pytest.fixture(params=["chromium", "webkit", "firefox"])
def engine(request):
    """Each engine in turn; skipped where it is not installed."""
    from tests.browser.engines import missing

    why = missing(request.param)
    if why:
        pytest.skip(why)
    return request.param


@pytest.fixture
def open_browser(desktop):
    """open_browser(engine, many_videos=...) -> a Rater, closed after the test."""
    from tests.browser.engines import open_rater

    opened = []

    def make(engine, **options):
        opened.append(open_rater(engine, desktop, **options))
        return opened[-1]

    yield make
    for browser in opened:
        browser.close()
