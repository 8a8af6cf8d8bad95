"""The switching player's listening rules and the playback telemetry, enforced by the server
from the page's events: audible time is what the events show was played (never more than the
page's clock or the server's clock allow), a version is heard once audible long enough in
total, and the telemetry of a scripted session matches what the script did."""

import json

import pytest

from studies import listening, telemetry
from studies.models import Session, TrialSlot
from tests.factories import CLIP_S, make_study

pytestmark = [pytest.mark.django_db, pytest.mark.media]


def _page(client, study, code):
    url = client.get(f"/s/{study.slug}/", {"code": code})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    page = client.get(url)
    assert page.status_code == 200
    return url, page.content.decode()


class Page:
    """A scripted switching player: the picture's media time and the page's clock (ms)."""

    def __init__(self, client, url, clock):
        self.client, self.url, self.clock = client, url, clock
        self.media = 0.0

    def ms(self) -> int:
        return int(self.clock.now.timestamp() * 1000)

    def send(self, slot: str, kind: str, *, media=None):
        data = {"slot": slot, "kind": kind, "client_ms": str(self.ms()),
                "media_time": str(self.media if media is None else media)}  # fmt: skip
        response = self.client.post(self.url + "t/0/event", data)
        assert response.status_code == 200, response.content
        return response.json()

    def play(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.media += seconds


@pytest.fixture
def switch_study():
    return make_study(
        slug="sw", n_systems=3, trials_per_session=1, with_checks=False, player="switch"
    )


def test_audible_time_follows_the_events():
    events = [
        (0, "play", 0, 0.0),
        (1, "switch", 500, 0.5),  # A heard 0.5 s
        (1, "seek", 900, 0.9),  # B 0.4 s; seek back to 0
        (1, "play", 950, 0.0),
        (2, "switch", 1950, 1.0),  # B 1.0 s more
        (2, "mute", 2450, 1.5),  # C 0.5 s, then muted: nothing
        (2, "unmute", 3450, 2.0),
        (2, "pause", 3650, 2.2),  # C 0.2 s
        (2, "play", 10_000, 2.2),  # a long pause credits nothing
        (2, "ended", 10_100, 9.0),  # the media time jumps: the clock's 0.1 s only
    ]
    heard = listening.audible_ms(events, shared_timeline=True)
    assert heard == pytest.approx({0: 500, 1: 1400, 2: 800})


def test_separate_videos_close_only_their_own_segment():
    events = [(0, "play", 0, 0.0), (1, "play", 100, 0.0), (0, "ended", 2000, 2.0),
              (1, "pause", 1100, 1.0)]  # fmt: skip
    assert listening.audible_ms(events, shared_timeline=False) == pytest.approx({0: 2000, 1: 1000})


def test_heard_needs_the_time_on_the_servers_clock_too():
    audible = {0: 2000.0, 1: 2000.0, 2: 2000.0}
    durations = {0: 2.0, 1: 2.0, 2: 2.0}
    kwargs = dict(audible=audible, durations_s=durations, already=set(), fraction=1.0)
    assert listening.switch_heard(**kwargs, server_elapsed_s=6.0) == {0, 1, 2}
    assert listening.switch_heard(**kwargs, server_elapsed_s=2.0) == {0}
    half = dict(kwargs, fraction=0.5, audible={0: 1000.0, 1: 400.0, 2: 0.0})
    assert listening.switch_heard(**half, server_elapsed_s=6.0) == {0}


def test_switching_unlocks_when_every_version_was_audible_long_enough(client, clock, switch_study):
    url, html = _page(client, switch_study, "SW1")
    assert 'id="switch-player"' in html and html.count("<video") == 1
    page = Page(client, url, clock)
    clock.advance(0.3)
    page.send("A", "play")
    page.play(1.0)
    page.send("B", "switch")
    page.play(1.0)
    state = page.send("B", "ended")
    assert state["played"] == [False, False, False]
    # Round two: each version from the start for its whole length, switching at the end.
    for slot in "ABC":
        page.media = 0.0
        page.send(slot, "play")
        page.play(CLIP_S)
        state = page.send(slot, "ended")
    assert state["played"] == [True, True, True] and state["unlocked"]
    slots = TrialSlot.objects.order_by("position")
    assert [s.heard_ms for s in slots] == [3000, 3000, 2000]


def test_a_script_cannot_claim_listening_faster_than_time_passes(client, clock, switch_study):
    url, _ = _page(client, switch_study, "SW2")
    page = Page(client, url, clock)
    clock.advance(0.3)
    # The page's own clock and media time say 2 s per version, posted within 2 s of real time.
    t0 = page.ms()
    for i, slot in enumerate("ABC"):
        data = {"slot": slot, "kind": "switch" if i else "play", "client_ms": str(t0 + 2000 * i),
                "media_time": str(2.0 * i)}  # fmt: skip
        client.post(url + "t/0/event", data)
    clock.advance(CLIP_S)
    state = page.send("C", "ended", media=6.0)
    page_ms = {"slot": "C", "kind": "tick", "client_ms": str(t0 + 6000), "media_time": "6.0"}
    state = client.post(url + "t/0/event", page_ms).json()
    assert sum(state["played"]) <= 1 and not state["unlocked"]
    answer = client.post(url + "t/0/answer", {c.key: "A" for c in switch_study.criteria.all()})
    assert answer.status_code == 409


def test_telemetry_of_a_scripted_session_matches_what_it_did(client, clock, switch_study):
    url, _ = _page(client, switch_study, "SW3")
    page = Page(client, url, clock)
    clock.advance(0.3)
    page.send("A", "play")
    page.play(0.5)
    page.send("A", "pause")
    clock.advance(3.0)  # paused: no credit
    page.send("A", "play")
    page.play(0.5)
    page.send("A", "seek")
    page.media = 0.0
    page.send("A", "play")
    page.play(CLIP_S)
    page.send("A", "ended")
    for slot in "BC":
        page.media = 0.0
        page.send(slot, "play")
        page.play(CLIP_S * 0.5)
        page.send(slot, "stall")
        clock.advance(0.4)  # buffering: no credit
        page.send(slot, "play")
        page.play(CLIP_S * 0.5)
        page.send(slot, "ended")
    report = {"hidden_ms": 1500, "hidden_count": 1, "fullscreen_exits": 1, "rate_changes": 2,
              "volume_changes": 0, "stall_ms": 800, "sync_offsets_ms": [3.3, -6.7, 10.0],
              "switch_gaps_ms": [12.8, 13.1]}  # fmt: skip
    answer = {c.key: "B" for c in switch_study.criteria.all()}
    clock.advance(2.0)
    response = client.post(url + "t/0/answer", {**answer, "_telemetry": json.dumps(report)})
    assert response.status_code == 302
    trial = Session.objects.get().trials.get(index=0)
    server, page_report = trial.telemetry["server"], trial.telemetry["page"]
    assert server["audible_ms"] == [3000, 2000, 2000]
    assert server["heard_fraction"] == [1.0, 1.0, 1.0]
    assert (server["pauses"], server["seeks"], server["stalls"]) == (1, 1, 2)
    assert page_report["hidden_ms"] == 1500 and page_report["fullscreen_exits"] == 1
    assert page_report["sync_offset_n"] == 3 and page_report["sync_offset_max_ms"] == 10.0
    row = telemetry.row(trial.telemetry, av_delay_ms=None)
    assert row["player"] == "switch" and row["hidden_s"] == "1.5" and row["seeks"] == "1"
    assert row["stall_s"] == "0.8" and row["volume_changes"] == "0"
    assert row["heard_min_fraction"] == "1" and row["av_delay_ms"] == ""
    # Nothing in it names a system.
    text = json.dumps(trial.telemetry)
    for system in switch_study.systems.all():
        assert system.key not in text and system.name not in text


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("", "no report"),
        ("[1, 2]", "not a JSON object"),
        ('{"hidden_ms": "soon"}', "hidden_ms must be a number"),
        ('{"system": "gan"}', "unknown keys system"),
        ('{"sync_offsets_ms": [1, NaN]}', "must be a number"),
        (json.dumps({"switch_gaps_ms": [1] * 201}), "at most 200"),
        ("x" * 9000, "longer than"),
    ],
)
def test_a_malformed_page_report_is_recorded_as_such(raw, problem):
    assert problem in telemetry.clean_page_report(raw)["invalid"]


def test_a_malformed_report_never_costs_the_rater_the_answer(client, clock):
    study = make_study(slug="tm", n_systems=2, trials_per_session=1, with_checks=False)
    url, _ = _page(client, study, "TM1")
    page = Page(client, url, clock)
    for slot in "AB":
        clock.advance(0.2)
        page.media = 0.0
        page.send(slot, "play")
        page.play(CLIP_S)
        page.send(slot, "ended")
    answer = {c.key: "A" for c in study.criteria.all()}
    response = client.post(url + "t/0/answer", {**answer, "_telemetry": "{broken"})
    assert response.status_code == 302
    trial = Session.objects.get().trials.get(index=0)
    assert "invalid" in trial.telemetry["page"]
    assert trial.telemetry["server"]["audible_ms"] == [2000, 2000]
    assert trial.votes.count() == len(answer)


def test_events_beyond_the_cap_are_refused(client, clock, switch_study, monkeypatch):
    from studies.services import playback

    monkeypatch.setattr(playback, "MAX_EVENTS_PER_TRIAL", 5)
    url, _ = _page(client, switch_study, "SW4")
    page = Page(client, url, clock)
    for _ in range(5):
        page.send("A", "tick")
    response = client.post(url + "t/0/event", {"slot": "A", "kind": "tick"})
    assert response.status_code == 429


@pytest.mark.parametrize("compensate, expected", [(True, "180.0"), (False, "0.0")])
def test_the_switching_player_compensates_the_raters_measured_delay(
    client, switch_study, compensate, expected
):
    switch_study.latency_compensate = compensate
    switch_study.save()
    url = client.get(f"/s/{switch_study.slug}/", {"code": "SW5"})["Location"]
    client.post(url + "consent", {"consent": "yes"})
    Session.objects.update(av_delay_ms=180.0)
    html = client.get(url).content.decode()
    assert f'data-compensation-ms="{expected}"' in html


def test_the_latency_check_needs_screening_and_a_threshold_to_screen_out():
    from studies.selectors import study_problems

    study = make_study(slug="lp", trials_per_session=1, with_checks=False, launch=False)
    study.latency_check, study.latency_screen_out = True, True
    problems = " ".join(study_problems(study=study))
    assert "turn screening on" in problems and "needs a delay threshold" in problems


def test_a_separate_play_through_that_was_muted_or_seeked_is_not_heard(client, clock):
    study = make_study(slug="sm", n_systems=2, trials_per_session=1, with_checks=False)
    url, _ = _page(client, study, "SM1")
    page = Page(client, url, clock)
    for slot, interruption in (("A", "mute"), ("B", "seek")):
        clock.advance(0.2)
        page.media = 0.0
        page.send(slot, "play")
        page.play(CLIP_S / 2)
        page.send(slot, interruption)
        page.play(CLIP_S / 2)
        state = page.send(slot, "ended")
    assert state["played"] == [False, False]
    assert "muted or seeked" in state["reason"]
