"""A real Chromium, driven by Playwright, completes a whole session: plays every clip, answers."""

import pytest

from studies.models import PlaybackEvent, Session, Vote
from tests.browser.conftest import needs_chromium
from tests.factories import make_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


def test_a_participant_completes_a_session_in_chromium(live_server, page):
    study = make_study(slug="browser", n_items=2, trials_per_session=2, check_trials_per_session=1)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/s/{study.slug}/")
    page.get_by_role("button", name="Start as a new participant").click()
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Begin").click()

    for number in range(1, 4):
        page.get_by_role("heading", name=f"Video {number} of 3").wait_for()
        submit = page.locator("#submit")
        assert submit.is_disabled()
        assert page.locator("fieldset.criterion input").first.is_disabled()
        labels = page.locator("section.slot").evaluate_all("els => els.map(e => e.dataset.slot)")
        assert labels == ["A", "B", "C", "D"]
        # Play is enabled only once a version can play through.
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('button.play')).every(b => !b.disabled)"
        )
        for i, label in enumerate(labels):
            if i == 0:
                page.get_by_role("button", name=f"Play {label}").click()
            else:
                page.keyboard.press(str(i + 1))  # the keyboard shortcut plays slot i+1
            section = page.locator(f"section.slot[data-slot='{label}']")
            section.locator(".status:text-is('heard ✓')").wait_for()
            # One plays at a time: every other video is paused.
            playing = page.locator("video").evaluate_all("vs => vs.filter(v => !v.paused).length")
            assert playing == 0
        assert not page.locator("fieldset.criterion input").first.is_disabled()
        for fieldset in page.locator("fieldset.criterion").all():
            fieldset.get_by_label("C").check()
        assert submit.is_enabled()
        submit.click()

    page.get_by_role("heading", name="Thank you!").wait_for()
    code = page.locator("#completion-code").inner_text()

    session = Session.objects.get()
    assert session.status == Session.Status.COMPLETED and session.completion_code == code
    assert Vote.objects.filter(trial__session=session).count() == 3 * 4
    assert {v.slot.position for v in Vote.objects.all()} == {2}
    accepted_ends = PlaybackEvent.objects.filter(kind="ended", accepted=True).count()
    assert accepted_ends == 3 * 4
    assert not errors, errors


def test_the_sound_checks_in_chromium(live_server, page):
    """The screen check first (no sound on it), then every sound played through in the browser,
    and the server scores it: right answers open the trials."""
    from studies.models import ScreeningItem

    study = make_study(slug="screen", n_items=1, trials_per_session=1, with_checks=False)
    study.screening = True
    study.headphone_trials = 2
    study.headphone_min_correct = 2
    study.save()
    errors, sounds = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: sounds.append(r.url) if "/a/" in r.url else None)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/s/{study.slug}/?code=BROWSER1")
    page.get_by_text("Headphones").first.wait_for()  # the consent page states the requirements
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Begin").click()
    page.get_by_role("heading", name="Screen check").wait_for()
    assert not sounds  # no sound before the device check
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Sound checks").wait_for()
    session = Session.objects.get()
    assert session.screening["device"]["width"] >= 800
    answers = {i.index + 1: i.answer for i in ScreeningItem.objects.filter(session=session)}
    for number, answer in answers.items():
        fieldset = page.locator("fieldset.screen-item").nth(number - 1)
        button = fieldset.get_by_role("button", name=f"Play sound {number}")
        page.wait_for_function(
            "n => !document.querySelectorAll('fieldset.screen-item button')[n].disabled",
            arg=number - 1,
        )
        button.click()
        fieldset.locator(".status:text-is('heard ✓')").wait_for()
        fieldset.get_by_label(str(answer), exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Video 1 of 1").wait_for()
    session.refresh_from_db()
    assert session.status == Session.Status.ACTIVE
    assert ScreeningItem.objects.filter(played_to_end_at__isnull=True).count() == 0
    assert not errors, errors


def test_a_video_that_will_not_load_is_retried_then_skipped_and_its_item_reallocated(
    live_server, page
):
    """One version of the first trial never loads: the page retries it, then offers a skip;
    the rater goes on to the next trial, and the item is given to the next participant."""
    from django.utils import timezone

    from studies import allocation, services
    from studies.models import Trial, TrialSlot
    from tests.factories import start_session

    study = make_study(slug="broken", n_items=2, trials_per_session=2, with_checks=False)
    failed = []

    def route(r):
        token = r.request.url.split("/m/", 1)[1].split("?", 1)[0]
        if TrialSlot.objects.filter(token=token, trial__index=0, position=1).exists():
            failed.append(r.request.url)
            return r.abort("failed")
        return r.continue_()

    page.route("**/m/**", route)
    page.goto(f"{live_server.url}/s/{study.slug}/?code=BROKEN1")
    page.get_by_label("I have read the above and agree to take part.").check()
    page.get_by_role("button", name="Begin").click()
    page.get_by_role("heading", name="Video 1 of 2").wait_for()
    section = page.locator("section.slot[data-slot='B']")
    section.locator(".status:text-matches('trying again')").wait_for()
    section.locator(".status:text-is('this video could not be loaded')").wait_for()
    assert len({u.split("?")[0] for u in failed}) == 1 and len(failed) >= 3  # first try + retries
    page.get_by_role("button", name="Skip this set of videos").click()
    page.get_by_role("heading", name="Video 2 of 2").wait_for()

    session = Session.objects.get()
    skipped = Trial.objects.get(session=session, index=0)
    assert skipped.skipped_at is not None and not skipped.votes.exists()
    assert PlaybackEvent.objects.filter(kind="error", slot__trial=skipped).count() >= 3
    assert allocation.item_loads(study, timezone.now())[skipped.item_id].load == 0
    nxt = services.session_current_trial(session=start_session(study, "NEXT"))
    assert nxt.item_id == skipped.item_id  # allocated again, to someone else
