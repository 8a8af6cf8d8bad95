"""Screening before the trials: the device check first, then sounds from a per-study pool that
count only once played through, scored on the server; screen-outs get the screen-out code."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studies import services
from studies.models import ScreeningItem, ScreeningSound, Session
from tests.factories import make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.postgres]


@pytest.fixture
def study():
    return make_study(slug="screened", with_checks=False, trials_per_session=2, screening=True)


def _start(client, study, code="P1", params=None):
    url = client.get(f"/s/{study.slug}/", params or {"code": code})["Location"]
    assert client.post(url + "consent", {"consent": "yes"}).status_code == 302
    return url, Session.objects.get(token=url.rstrip("/").rsplit("/", 1)[-1])


def _device(client, url, width=1280, height=800):
    return client.post(url + "screen/device", {"width": str(width), "height": str(height)})


def _hear_all(session, *, start=None):
    """Play every sound of the session through, one after another (as the page reports)."""
    items = list(session.screening_items.order_by("index"))
    at = start or timezone.now() + timedelta(seconds=1)
    for item in items:
        for kind, media_time in (("play", 0.0), ("ended", item.duration_s)):
            services.screening_playback_record(
                session=session,
                item_token=item.token,
                kind=kind,
                client_ms=int(at.timestamp() * 1000),
                media_time=media_time,
                now=at,
            )
            at += timedelta(seconds=item.duration_s if kind == "play" else 0.2)


def _form(session, *, right=True):
    data = {}
    for item in session.screening_items.all():
        wrong = item.answer % 3 + 1
        data[f"r-{item.token}"] = str(item.answer if right else wrong)
    return data


def test_the_pool_is_made_once_at_launch_and_consent_writes_no_file(client, study, settings):
    pool = list(ScreeningSound.objects.filter(study=study))
    assert len(pool) == 8 + 24  # volume sounds + headphone sounds
    files = {p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()}
    for n in range(3):
        _start(Client(), study, f"N{n}")
    assert {p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()} == files
    assert ScreeningSound.objects.filter(study=study).count() == len(pool)
    # Every sound of the pool has the same byte length: the answer is not in the size.
    assert len({p.media.size for p in pool}) == 1
    # Sessions draw their own selection from the pool, under their own tokens.
    a, b = Session.objects.order_by("id")[:2]
    assert [i.kind for i in a.screening_items.all()] == ["audio"] + ["headphone"] * 6
    tokens = {i.token for i in a.screening_items.all()} & {i.token for i in b.screening_items.all()}
    assert not tokens


def test_the_device_check_comes_before_any_sound(client, study):
    url, session = _start(client, study)
    page = client.get(url).content.decode()
    assert "Screen check" in page and "<audio" not in page and "/a/" not in page
    # Continue waits for the script that fills in the size (a 0x0 would screen out).
    assert '<button type="submit" disabled>Continue</button>' in page
    item = session.screening_items.first()
    assert client.get(f"{url}a/{item.token}").status_code == 404  # no sound before the check
    assert _device(client, url).status_code == 302
    page = client.get(url).content.decode()
    sources = re.findall(r'<audio preload="auto" src="([^"]+)"', page)
    assert sources == [f"{url}a/{i.token}" for i in session.screening_items.order_by("index")]
    assert client.get(f"{url}a/{item.token}").status_code == 200


def test_a_small_screen_is_screened_out_before_any_sound_with_the_screen_out_code(client, study):
    url, session = _start(client, study)
    _device(client, url, width=390, height=844)
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT
    page = client.get(url).content.decode()
    assert "800x500" in page and study.screenout_code in page
    assert study.completion_code not in page and session.completion_code not in page


def test_passing_the_checks_opens_the_trials(client, study):
    url, session = _start(client, study)
    _device(client, url)
    _hear_all(session)
    assert client.post(url + "screen", _form(session)).status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.ACTIVE
    assert session.screening["headphone_correct"] == 6
    assert b"Video 1 of" in client.get(url).content


def test_answers_to_sounds_that_were_not_played_through_are_refused(client, study):
    url, session = _start(client, study)
    _device(client, url)
    response = client.post(url + "screen", _form(session))
    assert response.status_code == 409 and b"play each sound" in response.content
    # Plays of every sound at once, ended after one sound's length: only one counts.
    at = timezone.now() + timedelta(seconds=1)
    items = list(session.screening_items.all())
    for kind, shift in (("play", 0), ("ended", 4.0)):
        for item in items:
            when = at + timedelta(seconds=shift)
            services.screening_playback_record(
                session=session,
                item_token=item.token,
                kind=kind,
                client_ms=int(when.timestamp() * 1000),
                media_time=0.0 if kind == "play" else 4.0,
                now=when,
            )
    heard = ScreeningItem.objects.filter(session=session, played_to_end_at__isnull=False)
    assert heard.count() == 1
    assert client.post(url + "screen", _form(session)).status_code == 409
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENING
    assert not ScreeningItem.objects.filter(response__isnull=False).exists()


def test_failing_the_headphone_check_gives_the_screen_out_code_on_prolific(client, study):
    params = {"PROLIFIC_PID": "pidX", "STUDY_ID": "s1", "SESSION_ID": "x1"}
    url, session = _start(client, study, params=params)
    _device(client, url)
    _hear_all(session)
    client.post(url + "screen", _form(session, right=False))
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT
    page = client.get(url).content.decode()
    assert "headphones" in page
    assert f"cc={study.screenout_code}" in page and study.completion_code not in page
    # Submitting again (with right answers) changes nothing.
    client.post(url + "screen", _form(session))
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT


def test_a_browser_that_plays_no_sound_has_a_way_out(client, study):
    url, session = _start(client, study)
    _device(client, url)
    client.post(url + "screen", {"cannot_play": "yes"})
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT
    assert study.screenout_code in client.get(url).content.decode()


def test_unanswered_sounds_and_bad_values_are_refused_and_nothing_is_stored(client, study):
    url, session = _start(client, study)
    _device(client, url)
    _hear_all(session)
    form = _form(session)
    first = session.screening_items.first()
    del form[f"r-{first.token}"]
    response = client.post(url + "screen", form)
    assert response.status_code == 400 and b"missing: 1" in response.content
    bad = _form(session)
    bad[f"r-{first.token}"] = "x"
    assert client.post(url + "screen", bad).status_code == 400
    assert client.post(url + "screen/device", {"width": "wide"}).status_code == 400
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENING
    assert not ScreeningItem.objects.filter(response__isnull=False).exists()


def test_another_sessions_sound_is_not_served_here(client, study):
    url, session = _start(client, study)
    _device(client, url)
    _, other = _start(Client(), study, "P2")
    assert client.get(f"{url}a/{other.screening_items.first().token}").status_code == 404
    assert client.post(url + "t/0/answer", {}).status_code in (404, 409)
