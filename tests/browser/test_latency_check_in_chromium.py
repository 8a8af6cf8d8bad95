"""The latency check in a real Chromium: an audio delay injected in the page (a Bluetooth
headset, in effect) is recovered within 30 ms by a simulated rater who taps when it sees the
flash and when it hears the beep (an analyser on the page's output, heard after the output
latency the browser reports for the device)."""

import pytest

from studies.models import Session
from tests.browser.conftest import needs_chromium
from tests.browser.rater import TAPPER
from tests.factories import make_study

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timing,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]

# The simulated rater taps (Space) when the square turns dark and when a beep reaches it.
RATER = TAPPER


def _through_the_sound_checks_to_latency(page, live_server, study):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/s/{study.slug}/?code=LATENCY1")
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Begin").click()
    page.get_by_role("heading", name="Screen check").wait_for()
    page.get_by_role("button", name="Continue").click()
    try:
        page.get_by_role("heading", name="Sound checks").wait_for()
    except Exception:
        print("PAGE", page.url, page.content()[:3000])
        raise


def test_the_latency_check_recovers_an_injected_audio_delay(live_server, page):
    study = make_study(
        slug="lat", n_items=1, trials_per_session=1, with_checks=False, screening=True,
        headphone_trials=1, headphone_min_correct=1, latency_check=True, max_av_delay_ms=200,
    )  # fmt: skip
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _through_the_sound_checks_to_latency(page, live_server, study)
    page.evaluate(RATER)
    estimates = {}
    for injected in (0, 150, 300):
        # A rater redoes the check after changing headphones; here the test shows the button.
        page.evaluate(
            f"() => {{ window.foleyInjectAudioDelayMs = {injected}; "
            "document.getElementById('latency-start').hidden = false; }"
        )
        start = page.locator("#latency-start")
        start.click()
        page.wait_for_function(
            "() => !document.getElementById('latency-start').disabled", timeout=40_000
        )
        session = Session.objects.get()
        estimates[injected] = session.av_delay_ms
        assert session.av_delay_ms is not None, page.locator("#latency-status").text_content()
        status = page.locator("#latency-status").text_content()
        if injected > 200:
            assert "arrives late" in status
    print(estimates)
    for injected, estimate in estimates.items():
        assert abs(estimate - injected) <= 30, estimates
    assert Session.objects.get().screening["latency_runs"] == 3
    assert not errors, errors
