"""The listening rules, enforced by the server: a script cannot unlock a trial faster than the
versions last, and an honest rater is never refused because the server was slow."""

import random
from datetime import datetime, timedelta

import pytest

from studies import listening
from studies.models import PlaybackEvent, Session, Trial
from tests.factories import CLIP_S, make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.postgres]


@pytest.fixture
def trial_page(client, clock):
    study = make_study(slug="listen", trials_per_session=2, with_checks=False)
    url = client.get(f"/s/{study.slug}/", {"code": "L1"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    assert client.get(url).status_code == 200
    session = Session.objects.get()
    return study, url, session, session.trials.get(index=0)


def _event(client, url, slot, kind, *, client_ms=None, media_time=None):
    data = {"slot": slot, "kind": kind}
    if client_ms is not None:
        data["client_ms"] = str(int(client_ms))
    if media_time is not None:
        data["media_time"] = str(media_time)
    response = client.post(url + "t/0/event", data)
    assert response.status_code == 200, response.content
    return response.json()


def _answer(client, url, study):
    return client.post(url + "t/0/answer", {c.key: "A" for c in study.criteria.all()})


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_plays_of_every_version_at_once_cannot_unlock_or_answer(client, clock, trial_page):
    study, url, session, trial = trial_page
    clock.advance(0.2)
    for slot in "ABCD":
        _event(client, url, slot, "play", media_time=0.0)
    clock.advance(CLIP_S + 0.1)
    states = [_event(client, url, slot, "ended", media_time=CLIP_S) for slot in "ABCD"]
    assert sum(states[-1]["played"]) <= 1 and not states[-1]["unlocked"]
    assert "same time" in PlaybackEvent.objects.filter(accepted=False).first().reason
    assert _answer(client, url, study).status_code == 409
    assert not trial.votes.exists()


def test_a_script_that_invents_a_sequential_clock_is_bounded_by_the_servers(
    client, clock, trial_page
):
    """Fabricated client times that say A, B, C, D played one after another, all posted after
    one clip's length: the server's clock says only one version's worth of time has passed."""
    study, url, session, trial = trial_page
    clock.advance(CLIP_S + 0.2)
    fake = _ms(clock.now)
    for k, slot in enumerate("ABCD"):
        start = fake + k * 2100
        _event(client, url, slot, "play", client_ms=start, media_time=0.0)
        state = _event(client, url, slot, "ended", client_ms=start + 2050, media_time=CLIP_S)
    assert state["played"] == [True, False, False, False]
    assert "less time has passed" in PlaybackEvent.objects.filter(accepted=False).first().reason
    assert _answer(client, url, study).status_code == 409


def test_a_real_play_through_is_never_refused_when_the_server_is_slow(client, clock, trial_page):
    """Each request waits up to 3 s in the server's queue before it is handled (the delay is
    injected where the server reads its clock); plays wait longest, the worst case for a rule
    measured on the server's clock alone. Every version is accepted and the answer stored."""
    study, url, session, trial = trial_page
    rng = random.Random(7)
    true = clock.now + timedelta(seconds=0.5)  # the rater's first click, after the page arrived
    last_handled = clock.now
    for slot in "ABCD":
        for kind, media_time, delay in (
            ("play", 0.0, rng.uniform(2.0, 3.0)),
            ("ended", CLIP_S, rng.uniform(0.0, 0.2)),
        ):
            # Sent in order (the page queues its events): handled after the one before.
            clock.now = max(true + timedelta(seconds=delay), last_handled + timedelta(seconds=0.01))
            last_handled = clock.now
            state = _event(client, url, slot, kind, client_ms=_ms(true), media_time=media_time)
            true += timedelta(seconds=CLIP_S if kind == "play" else 0.4)
    assert state["played"] == [True] * 4 and state["unlocked"]
    assert not PlaybackEvent.objects.filter(accepted=False).exists()
    clock.now = max(clock.now, true) + timedelta(seconds=4)
    assert _answer(client, url, study).status_code == 302
    assert Trial.objects.get(pk=trial.pk).answered_at is not None


@pytest.mark.parametrize(
    "between, start_at, end_at, reason",
    [
        ("stall", 0.0, CLIP_S, "stalled"),
        ("pause", 0.0, CLIP_S, "was paused"),
        (None, 1.0, CLIP_S, "from the beginning"),
        (None, 0.0, CLIP_S - 1.0, "to its end"),
    ],
)
def test_a_stall_a_pause_a_late_start_or_an_early_end_is_not_heard(
    client, clock, trial_page, between, start_at, end_at, reason
):
    study, url, session, trial = trial_page
    clock.advance(0.5)
    t0 = _ms(clock.now)
    _event(client, url, "A", "play", client_ms=t0, media_time=start_at)
    if between:
        clock.advance(0.8)
        _event(client, url, "A", between, client_ms=t0 + 800, media_time=0.8)
    clock.advance(CLIP_S + 0.5)
    state = _event(client, url, "A", "ended", client_ms=t0 + 2600, media_time=end_at)
    assert state["played"][0] is False and reason in state["reason"]
    # Played again from the start without interruption, it counts.
    t1 = t0 + 3000
    clock.advance(0.5)
    _event(client, url, "A", "play", client_ms=t1, media_time=0.0)
    clock.advance(CLIP_S + 0.1)
    state = _event(client, url, "A", "ended", client_ms=t1 + 2050, media_time=CLIP_S)
    assert state["played"][0] is True


def test_an_answer_before_the_versions_could_have_been_heard_is_too_soon():
    durations = [3.0, 3.0, 3.0, 3.0]
    assert listening.answer_too_soon(durations_s=durations, server_elapsed_s=5.0)
    assert not listening.answer_too_soon(durations_s=durations, server_elapsed_s=12.0)


def test_the_study_default_flags_implausibly_fast_answers():
    study = make_study(slug="fast", launch=False)
    assert study.qc_min_trial_seconds >= 2.0


def _play_through(client, url, clock, slot, *, between=()):
    """`play` at 0, the events in `between` ((after_s, kind, media_time), clock moved by
    after_s), then `ended` once the version's duration has passed; returns the last state."""
    start = _ms(clock.now)
    _event(client, url, slot, "play", client_ms=start, media_time=0.0)
    elapsed = 0.0
    for after_s, kind, media_time in between:
        clock.advance(after_s)
        elapsed += after_s
        _event(client, url, slot, kind, client_ms=_ms(clock.now), media_time=media_time)
    clock.advance(CLIP_S + 0.05)
    return _event(client, url, slot, "ended", client_ms=_ms(clock.now), media_time=CLIP_S)


def test_the_pages_own_rewind_reported_after_playing_is_not_a_seek(client, clock, trial_page):
    # WebKit and Firefox fire `seeking` for play()'s rewind to 0 a few ms after `playing`.
    study, url, session, trial = trial_page
    clock.advance(0.5)
    for k, slot in enumerate("ABCD"):
        state = _play_through(client, url, clock, slot, between=[(0.004, "seek", 0.0)])
        assert state["played"][k], PlaybackEvent.objects.filter(accepted=False).last().reason
        clock.advance(0.3)
    assert state["unlocked"]
    assert _answer(client, url, study).status_code == 302 and trial.votes.exists()
    # The version was audible for its whole length after the rewind.
    slot = trial.slots.get(position=0)
    assert slot.heard_ms >= (CLIP_S - 0.1) * 1000


def test_a_seek_ahead_mid_clip_still_interrupts_the_play_through(client, clock, trial_page):
    study, url, session, trial = trial_page
    clock.advance(0.5)
    state = _play_through(client, url, clock, "A", between=[(0.5, "seek", 1.5)])
    assert not state["played"][0]
    assert "seeked" in PlaybackEvent.objects.filter(accepted=False).last().reason
    # A rewind earlier in the same play-through does not excuse a later skip ahead.
    clock.advance(0.3)
    state = _play_through(
        client, url, clock, "A", between=[(0.004, "seek", 0.0), (0.5, "seek", 1.6)]
    )
    assert not state["played"][0]


def test_seeking_back_to_the_start_mid_clip_counts_from_there(client, clock, trial_page):
    study, url, session, trial = trial_page
    clock.advance(0.5)
    # Heard 1 s, back to the start, then the whole version: credited, timed from the rewind.
    state = _play_through(client, url, clock, "A", between=[(1.0, "seek", 0.01)])
    assert state["played"][0]
    # Back to the start but ended too soon after it: not credited.
    clock.advance(0.3)
    start = _ms(clock.now)
    _event(client, url, "B", "play", client_ms=start, media_time=0.0)
    clock.advance(CLIP_S - 0.3)
    _event(client, url, "B", "seek", client_ms=_ms(clock.now), media_time=0.0)
    clock.advance(0.6)
    state = _event(client, url, "B", "ended", client_ms=_ms(clock.now), media_time=CLIP_S)
    assert not state["played"][1]
