"""axe-core (axe-playwright-python) on every participant page in Chromium: no serious or
critical violation on the site's root, consent, screen check, sound checks with the latency
check, a trial of each player, and the completion page."""

import pytest

from studies.models import ScreeningItem, Session
from tests.browser.conftest import needs_chromium
from tests.browser.rater import (
    answer_trial,
    complete_session,
    listen_separate,
    listen_switch,
    sound_checks,
)
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


def _violations(page):
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


@pytest.mark.parametrize("player", ["separate", "switch"])
def test_no_participant_page_has_a_serious_accessibility_violation(
    live_server, open_browser, player
):
    rater = open_browser("chromium")
    page = rater.page
    study = make_study(slug=f"a11y-{player}", n_items=1, trials_per_session=1, with_checks=False,
                       screening=True, headphone_trials=1, headphone_min_correct=1,
                       latency_check=True, player=player)  # fmt: skip
    found = {}
    page.goto(f"{live_server.url}/")
    found["root"] = _violations(page)
    page.goto(f"{live_server.url}/s/{study.slug}/?code=AXE1")
    found["consent"] = _violations(page)
    rater.click("input[name=consent]")
    rater.click("form[action=consent] button[type=submit]")
    page.wait_for_selector("#device-check")
    found["screen check"] = _violations(page)
    rater.wait("() => !document.querySelector('#device-check button').disabled")
    rater.click("#device-check button[type=submit]")
    page.wait_for_selector("#screening")
    found["sound checks"] = _violations(page)
    session = Session.objects.get()
    sound_checks(
        rater,
        {f"r-{i.token}": str(i.answer) for i in ScreeningItem.objects.filter(session=session)},
    )
    rater.click("#screening button[name=continue]")
    page.wait_for_selector("#trial, #switch-player")
    found["trial"] = _violations(page)
    (listen_separate if player == "separate" else listen_switch)(rater)
    answer_trial(rater)
    found["trial, answered"] = _violations(page)
    rater.click("#submit")
    page.wait_for_selector("#completion-code")
    found["complete"] = _violations(page)
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.parametrize("player", ["separate", "switch"])
def test_a_whole_session_with_the_keyboard_alone(live_server, open_browser, player):
    """Tab to each control (arrow keys within a radio group), Space to press it, the focus
    visible every time: consent, screen and sound checks, the trial, the completion code."""
    rater = open_browser("chromium")
    rater.keyboard_only = True
    study = make_study(slug=f"kb-{player}", n_items=1, trials_per_session=1, with_checks=False,
                       screening=True, headphone_trials=1, headphone_min_correct=1,
                       player=player, n_systems=3)  # fmt: skip

    def answers():
        session = Session.objects.get()
        return {
            f"r-{i.token}": str(i.answer) for i in ScreeningItem.objects.filter(session=session)
        }

    run = complete_session(rater, f"{live_server.url}/s/{study.slug}/?code=KEYS1",
                           screening_answers=answers)  # fmt: skip
    session = Session.objects.get()
    assert session.status == Session.Status.COMPLETED and run.code == session.completion_code
    assert "screening" in run.pages and run.replays == 0
