"""Screening before the trials: generated per session, scored on the server, failures asked to
return the study."""

import re

import pytest

from studies.models import ScreeningItem, Session
from tests.factories import make_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    return make_study(slug="screened", with_checks=False, trials_per_session=2, screening=True)


def _start(client, study, code="P1"):
    url = client.get(f"/s/{study.slug}/", {"code": code})["Location"]
    assert client.post(url + "consent", {"consent": "yes"}).status_code == 302
    return url, Session.objects.get(participant__external_id=code)


def _form(session, *, right=True, width=1280, height=800, playback="ok"):
    data = {"width": str(width), "height": str(height), "playback": playback}
    for item in session.screening_items.all():
        wrong = item.answer % 3 + 1
        data[f"r-{item.token}"] = str(item.answer if right else wrong)
    return data


def test_consent_leads_to_the_sound_checks_generated_for_this_session(client, study):
    url, session = _start(client, study)
    assert session.status == Session.Status.SCREENING
    items = list(session.screening_items.all())
    assert [i.kind for i in items] == ["audio"] + ["headphone"] * 6
    page = client.get(url)
    assert page.status_code == 200 and b"Sound checks" in page.content
    html = page.content.decode()
    # The page names sounds by opaque tokens only: no answers, kinds or file names.
    sources = re.findall(r'<audio preload="auto" src="([^"]+)"', html)
    assert sources == [f"{url}a/{i.token}" for i in items]
    for item in items:
        assert item.media.name.split("/")[-1] not in html
    assert "answer" not in html.lower() and "correct" not in html.lower()
    sizes = {len(b"".join(client.get(f"{url}a/{i.token}").streaming_content)) for i in items[1:]}
    assert len(sizes) == 1  # the target interval is not given away by file size
    # Another session's sound is not served here.
    other_url, other = _start(client, study, "P2")
    assert client.get(f"{url}a/{other.screening_items.first().token}").status_code == 404
    # Trials wait for the checks.
    assert client.post(url + "t/0/answer", {}).status_code in (404, 409)


def test_passing_the_checks_opens_the_trials(client, study):
    url, session = _start(client, study)
    assert client.post(url + "screen", _form(session)).status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.ACTIVE
    assert session.screening["headphone_correct"] == 6
    assert b"Video 1 of" in client.get(url).content


@pytest.mark.parametrize(
    "changes, need",
    [
        ({"right": False}, "headphones"),
        ({"width": 640}, "a screen of at least 800x500"),
        ({"playback": "failed"}, "a browser that plays sound"),
    ],
)
def test_failing_a_check_asks_the_participant_to_return_the_study(client, study, changes, need):
    url, session = _start(client, study)
    client.post(url + "screen", _form(session, **changes))
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT
    page = client.get(url).content.decode()
    assert need in page and "return the study" in page
    assert session.completion_code not in page and study.completion_code not in page
    # Submitting again (with right answers) changes nothing.
    client.post(url + "screen", _form(session))
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENED_OUT


def test_unanswered_sounds_and_bad_values_are_refused_and_nothing_is_stored(client, study):
    url, session = _start(client, study)
    form = _form(session)
    first = session.screening_items.first()
    del form[f"r-{first.token}"]
    response = client.post(url + "screen", form)
    assert response.status_code == 400 and b"missing: 1" in response.content
    bad = _form(session)
    bad[f"r-{first.token}"] = "x"
    assert client.post(url + "screen", bad).status_code == 400
    session.refresh_from_db()
    assert session.status == Session.Status.SCREENING
    assert not ScreeningItem.objects.filter(response__isnull=False).exists()


def test_two_sessions_get_different_sounds_and_one_session_always_the_same(client, study):
    _, a = _start(client, study, "A1")
    _, b = _start(client, study, "B1")
    answers_a = [i.answer for i in a.screening_items.all()]
    answers_b = [i.answer for i in b.screening_items.all()]
    from studies.stimuli import screening

    regenerated = [
        screening.headphone_trial(screening.seed_for(a.token, i.index))[1]
        for i in a.screening_items.filter(kind="headphone")
    ]
    assert regenerated == answers_a[1:]
    assert len(answers_b) == len(answers_a)
    first = a.screening_items.get(index=1)
    assert first.media.read() != b.screening_items.get(index=1).media.read()
    first.media.seek(0)
    audio, _ = screening.headphone_trial(screening.seed_for(a.token, 1))
    assert first.media.read() == screening.wav_bytes(audio)
