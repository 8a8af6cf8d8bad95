"""Each design's trial page in a real Chromium: the answers unlock only after every version was
heard, the design's inputs (radios, a no-preference option, 1-5 ratings, 0-100 sliders that
must be moved) gate the submit button, and the stored votes are what the rater entered. The
pages fit a phone's width."""

import os
from pathlib import Path

import pytest

from studies.models import Session, Vote
from tests.browser.conftest import needs_chromium
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

SHOTS = os.environ.get("SCREENSHOT_DIR")


def _play_every_version(page):
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('button.play')).every(b => !b.disabled)"
    )
    labels = page.locator("section.slot").evaluate_all("els => els.map(e => e.dataset.slot)")
    for label in labels:
        page.get_by_role("button", name=f"Play {label}").click()
        page.locator(f"section.slot[data-slot='{label}'] .status:text-is('heard ✓')").wait_for()
    return labels


def _begin(page, live_server, study):
    page.goto(f"{live_server.url}/s/{study.slug}/?code=CHROME1")
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Begin").click()
    page.get_by_role("heading", name="Video 1 of 1").wait_for()


def _shot(page, name):
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for width, height, suffix in ((1280, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{SHOTS}/{name}-{suffix}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _no_overflow(page):
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("() => document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    return width <= 390


def test_pairwise_page_with_no_preference(live_server, page):
    study = make_study(
        slug="c-pw", design="pairwise", allow_no_preference=True, n_items=1,
        trials_per_session=1, with_checks=False,
    )  # fmt: skip
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _begin(page, live_server, study)
    assert page.locator("section.slot").count() == 2
    submit = page.locator("#submit")
    labels = _play_every_version(page)
    assert labels == ["A", "B"]
    fieldsets = page.locator("fieldset.criterion").all()
    for fieldset in fieldsets[:-1]:
        fieldset.get_by_label("B").check()
    assert submit.is_disabled()  # one question left
    fieldsets[-1].get_by_label("No preference").check()
    _shot(page, "pairwise")
    assert _no_overflow(page)
    submit.click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    votes = Vote.objects.filter(trial__session=Session.objects.get()).order_by("criterion__order")
    assert [v.slot.position if v.slot_id else None for v in votes] == [1, 1, 1, None]
    assert not errors, errors


def test_rating_page_needs_a_score_for_every_version(live_server, page):
    study = make_study(
        slug="c-acr", design="rating", n_systems=3, n_items=1, trials_per_session=1,
        with_checks=False,
    )  # fmt: skip
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _begin(page, live_server, study)
    assert page.locator("input[type=radio]").first.is_disabled()
    _play_every_version(page)
    submit = page.locator("#submit")
    scores = {"A": "5", "B": "2", "C": "3"}
    groups = page.locator(".rating-row").all()
    assert len(groups) == 4 * 3
    for n, group in enumerate(groups):
        label = "ABC"[n % 3]
        group.locator(f"input[value='{scores[label]}']").check()
        if n < len(groups) - 1:
            assert submit.is_disabled()
    assert submit.is_enabled()
    assert page.get_by_text("5 Excellent").count() == 12 and page.get_by_text("1 Bad").count() == 12
    _shot(page, "rating")
    assert _no_overflow(page)
    submit.click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    stored = {(v.criterion.key, v.slot.label): v.score for v in Vote.objects.all()}
    assert len(stored) == 12 and all(stored[(k, lab)] == float(scores[lab]) for k, lab in stored)
    assert not errors, errors


def test_mushra_sliders_must_each_be_moved(live_server, page):
    study = make_study(
        slug="c-mu", design="mushra", roles=("reference", "anchor"), n_systems=4, n_items=1,
        trials_per_session=1, with_checks=False,
    )  # fmt: skip
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _begin(page, live_server, study)
    labels = _play_every_version(page)
    sliders = page.locator("input[type=range]").all()
    assert len(sliders) == 4 and len(labels) == 4
    submit = page.locator("#submit")
    values = [95, 20, 60, 45]
    for n, slider in enumerate(sliders):
        slider.fill(str(values[n]))  # fires input, as a drag would
        if n < 3:
            assert submit.is_disabled()  # an untouched slider is no answer
    assert submit.is_enabled()
    assert page.locator(".mushra-row output").first.inner_text() == "95"
    _shot(page, "mushra")
    assert _no_overflow(page)
    submit.click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    stored = sorted((v.slot.position, v.score) for v in Vote.objects.all())
    assert stored == [(i, float(v)) for i, v in enumerate(values)]
    assert not errors, errors


def test_real_or_generated_page(live_server, page):
    study = make_study(
        slug="c-rog", design="real_or_generated", roles=("reference",), n_items=1,
        trials_per_session=1, with_checks=False,
    )  # fmt: skip
    _begin(page, live_server, study)
    assert page.get_by_text("Which video has the original sound?").count() == 1
    _play_every_version(page)
    page.locator("fieldset.criterion").get_by_label("A").check()
    _shot(page, "real_or_generated")
    page.locator("#submit").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert Vote.objects.get().slot.position == 0
