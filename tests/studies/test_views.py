"""Every participant endpoint, with good input and with every kind of bad input."""

import pytest
from django.test import Client
from django.utils import timezone

from studies import services
from studies.models import Participant, Session, Study, Trial, Vote
from tests.factories import make_study, play_all

pytestmark = [pytest.mark.django_db, pytest.mark.media, pytest.mark.postgres]


@pytest.fixture
def study():
    return make_study(slug="live", with_checks=False, trials_per_session=2)


def _start(client, study, code="P1") -> str:
    """Arrive with a local code, consent, and return the session URL."""
    response = client.get(f"/s/{study.slug}/", {"code": code})
    assert response.status_code == 302
    url = response["Location"]
    assert client.post(url + "consent", {"consent": "yes"}).status_code == 302
    return url


def _trial_ready(client, study, code="P1"):
    url = _start(client, study, code)
    assert client.get(url).status_code == 200
    session = Session.objects.get(participant__external_id=code)
    trial = session.trials.get(index=0)
    play_all(session, trial, now=timezone.now())
    return url, session, trial


def _answers(study, slot="A"):
    return {c.key: slot for c in study.criteria.all()}


# --- arrival ---------------------------------------------------------------------------------


def test_the_site_root_says_what_it_is_and_names_no_study(client, study):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Listening studies" in body and "/s/" in body
    assert study.slug not in body and study.title not in body
    assert client.post("/").status_code == 405


def test_arrival_without_identity_shows_the_code_page(client, study):
    response = client.get(f"/s/{study.slug}/")
    assert response.status_code == 200
    assert b"Participant code" in response.content
    assert not Participant.objects.exists()


def test_start_button_makes_a_fresh_local_code(client, study):
    response = client.post(f"/s/{study.slug}/")
    assert response.status_code == 302 and "?code=" in response["Location"]


def test_prolific_arrival_records_its_ids_and_resumes_the_same_session(client, study):
    params = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "s1", "SESSION_ID": "x9"}
    first = client.get(f"/s/{study.slug}/", params)["Location"]
    second = Client().get(f"/s/{study.slug}/", params)["Location"]
    assert first == second
    participant = Participant.objects.get()
    assert participant.source == "prolific"
    assert participant.recruiter_data == params


def test_mturk_arrival_and_preview(client, study):
    preview = client.get(
        f"/s/{study.slug}/", {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "H1"}
    )
    assert preview.status_code == 200
    assert b"preview" in preview.content and b"<video" not in preview.content
    assert not Participant.objects.exists()
    params = {
        "assignmentId": "A1",
        "workerId": "W1",
        "hitId": "H1",
        "turkSubmitTo": "https://workersandbox.mturk.com",
    }
    assert client.get(f"/s/{study.slug}/", params).status_code == 302
    assert Participant.objects.get().source == "mturk"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"PROLIFIC_PID": "bad id!"}, b"PROLIFIC_PID is not valid"),
        ({"PROLIFIC_PID": "x" * 65}, b"PROLIFIC_PID is not valid"),
        ({"assignmentId": "A1", "workerId": "W1"}, b"missing hitId, turkSubmitTo"),
        (
            {
                "assignmentId": "A1",
                "workerId": "W1",
                "hitId": "H",
                "turkSubmitTo": "https://evil.example.com",
            },
            b"not an MTurk address",
        ),
        (
            {
                "assignmentId": "A1",
                "workerId": "W1",
                "hitId": "H",
                "turkSubmitTo": "http://www.mturk.com",
            },
            b"not an MTurk address",
        ),
        ({"code": "<script>"}, b"participant code is not valid"),
        ({"code": ""}, b"participant code is not valid"),
    ],
)
def test_bad_arrival_parameters_get_a_clear_400(client, study, params, message):
    response = client.get(f"/s/{study.slug}/", params)
    assert response.status_code == 400
    assert message in response.content
    assert not Participant.objects.exists()


def test_draft_and_unknown_studies_are_404(client):
    draft = make_study(slug="draft", launch=False)
    assert client.get(f"/s/{draft.slug}/", {"code": "P"}).status_code == 404
    assert client.get("/s/nope/", {"code": "P"}).status_code == 404


def test_paused_study_turns_new_participants_away_but_resumes_others(client, study):
    url = _start(client, study, "OLD")
    services.study_set_status(study=study, status=Study.Status.PAUSED)
    response = client.get(f"/s/{study.slug}/", {"code": "NEW"})
    assert response.status_code == 409 and b"paused" in response.content
    assert client.get(f"/s/{study.slug}/", {"code": "OLD"})["Location"] == url
    assert client.get(url).status_code == 200


# --- session pages ---------------------------------------------------------------------------


def test_consent_is_needed_before_trials(client, study):
    url = client.get(f"/s/{study.slug}/", {"code": "P1"})["Location"]
    page = client.get(url)
    assert b"Consent" in page.content and b"<video" not in page.content
    refused = client.post(url + "consent", {})
    assert refused.status_code == 400 and b"tick the box" in refused.content
    assert client.post(url + "consent", {"consent": "yes"}).status_code == 302
    assert b"<video" in client.get(url).content


def test_unknown_session_token_or_wrong_study_is_404(client, study):
    url = _start(client, study)
    other = make_study(slug="other", with_checks=False)
    token = url.rstrip("/").split("/")[-1]
    assert client.get(f"/s/{study.slug}/p/not-a-token/").status_code == 404
    assert client.get(f"/s/{other.slug}/p/{token}/").status_code == 404


@pytest.mark.parametrize("endpoint", ["consent", "t/0/event", "t/0/answer"])
def test_post_endpoints_refuse_get(client, study, endpoint):
    url = _start(client, study)
    assert client.get(url + endpoint).status_code == 405


def test_csrf_is_enforced_on_participant_posts(study):
    browser = Client(enforce_csrf_checks=True)
    url = browser.get(f"/s/{study.slug}/", {"code": "P1"})["Location"]
    assert browser.post(url + "consent", {"consent": "yes"}).status_code == 403
    assert Session.objects.get().status == Session.Status.CONSENT


def test_oversized_bodies_are_refused_with_413(client, study):
    url, session, trial = _trial_ready(client, study)
    big = {"overall": "A", "pad": "x" * 20_000}
    assert client.post(url + "t/0/answer", big).status_code == 413
    assert client.post(url + "t/0/event", big).status_code == 413
    assert not Vote.objects.exists()


# --- playback events -------------------------------------------------------------------------


def test_playback_events_report_what_has_been_played(client, study):
    url = _start(client, study)
    client.get(url)
    ok = client.post(url + "t/0/event", {"slot": "B", "kind": "play"})
    assert ok.status_code == 200
    assert ok.json() == {"played": [False] * 4, "unlocked": False, "reason": ""}


@pytest.mark.parametrize(
    "data, status",
    [
        ({"slot": "B"}, 400),
        ({"slot": "Z", "kind": "play"}, 400),
        ({"slot": "E", "kind": "play"}, 400),  # a letter beyond this trial's four slots
        ({"slot": "A", "kind": "teleport"}, 400),
        ({}, 400),
    ],
)
def test_bad_playback_events_are_refused(client, study, data, status):
    url = _start(client, study)
    client.get(url)
    response = client.post(url + "t/0/event", data)
    assert response.status_code == status
    assert "error" in response.json()


def test_events_for_trials_not_yet_given_are_404(client, study):
    url = _start(client, study)
    client.get(url)
    assert client.post(url + "t/1/event", {"slot": "A", "kind": "play"}).status_code == 404
    assert (
        client.post(url + "t/99999999999/event", {"slot": "A", "kind": "play"}).status_code == 404
    )


# --- answers ---------------------------------------------------------------------------------


def test_an_answer_is_stored_and_the_next_trial_follows(client, study):
    url, session, trial = _trial_ready(client, study)
    response = client.post(url + "t/0/answer", _answers(study, "C"))
    assert response.status_code == 302 and response["Location"] == url
    votes = Vote.objects.filter(trial=trial)
    assert votes.count() == 4 and {v.slot.position for v in votes} == {2}
    assert client.get(url).context["trial"].index == 1


def test_answers_before_playing_everything_are_refused(client, study):
    url = _start(client, study)
    client.get(url)
    response = client.post(url + "t/0/answer", _answers(study))
    assert response.status_code == 409 and b"play every video" in response.content
    assert not Vote.objects.exists()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda a: a.pop("overall"), b"missing: overall"),
        (lambda a: a.update(noise="E"), b"not one of this trial"),
        (lambda a: a.update(noise="a"), b"not one of this trial"),
        (lambda a: a.update(noise=""), b"not one of this trial"),
        (lambda a: a.update(system="A"), b"Unknown field"),
        (lambda a: a.clear(), b"missing"),
    ],
)
def test_bad_answers_get_a_clear_400_and_change_nothing(client, study, mutate, message):
    url, session, trial = _trial_ready(client, study)
    answers = _answers(study)
    mutate(answers)
    response = client.post(url + "t/0/answer", answers)
    assert response.status_code == 400
    assert message in response.content
    assert not Vote.objects.exists()
    assert Trial.objects.get(pk=trial.pk).answered_at is None


def test_a_replayed_answer_returns_the_stored_one(client, study):
    url, session, trial = _trial_ready(client, study)
    client.post(url + "t/0/answer", _answers(study, "B"))
    replay = client.post(url + "t/0/answer", _answers(study, "D"), HTTP_ACCEPT="application/json")
    assert replay.status_code == 200
    assert replay.json()["repeated"] is True
    assert set(replay.json()["stored"].values()) == {"B"}
    assert Vote.objects.count() == 4


def test_answering_someone_elses_trial_or_media_is_impossible(client, study):
    mine, me, my_trial = _trial_ready(client, study, "ME")
    other = Client()
    theirs, them, their_trial = _trial_ready(other, study, "THEM")
    client.post(mine + "t/0/answer", _answers(study))
    # My session has no trial 1 yet: their trial index is not mine to answer.
    other.post(theirs + "t/0/answer", _answers(study))
    other.get(theirs)
    assert Trial.objects.filter(session=them, index=1).exists()
    assert client.post(mine + "t/1/answer", _answers(study)).status_code in (404, 409)
    # Their media token through my session URL: 404.
    token = their_trial.slots.first().token
    assert client.get(f"{mine}m/{token}").status_code == 404
    # Their session URL in my browser: refused; in theirs: served.
    assert client.get(f"{theirs}m/{token}").status_code == 403
    assert other.get(f"{theirs}m/{token}").status_code == 200


def test_a_completed_session_shows_its_code(client, study):
    url, session, trial = _trial_ready(client, study)
    client.post(url + "t/0/answer", _answers(study))
    client.get(url)
    second = session.trials.get(index=1)
    play_all(session, second, now=timezone.now())
    client.post(url + "t/1/answer", _answers(study))
    page = client.get(url)
    session.refresh_from_db()
    assert session.status == Session.Status.COMPLETED
    assert session.completion_code.encode() in page.content


def _one_trial_session_page(client, study, params) -> str:
    """Arrive with `params`, do a one-trial session, return the completion page."""
    study.trials_per_session = 1
    study.save()
    url = client.get(f"/s/{study.slug}/", params)["Location"]
    client.post(url + "consent", {"consent": "yes"})
    client.get(url)
    session = Session.objects.get()
    play_all(session, session.trials.get(), now=timezone.now())
    client.post(url + "t/0/answer", _answers(study))
    return client.get(url).content.decode()


def test_prolific_completion_redirects_with_the_study_code(client, study):
    params = {"PROLIFIC_PID": "pid1", "STUDY_ID": "s", "SESSION_ID": "x"}
    page = _one_trial_session_page(client, study, params)
    assert f"https://app.prolific.com/submissions/complete?cc={study.completion_code}" in page
    assert 'http-equiv="refresh"' in page


def test_mturk_completion_posts_back_to_turk_submit_to(client, study):
    params = {
        "assignmentId": "ASG1",
        "workerId": "W1",
        "hitId": "H1",
        "turkSubmitTo": "https://www.mturk.com",
    }
    page = _one_trial_session_page(client, study, params)
    assert 'action="https://www.mturk.com/mturk/externalSubmit"' in page
    assert 'name="assignmentId" value="ASG1"' in page


# --- media -----------------------------------------------------------------------------------


def test_media_serve_ranges_and_no_file_name(client, study):
    url = _start(client, study)
    client.get(url)
    slot = Session.objects.get().trials.get(index=0).slots.first()
    full = client.get(f"{url}m/{slot.token}")
    body = b"".join(full.streaming_content)
    assert full.status_code == 200 and full["Content-Type"] == "video/mp4"
    assert full["Accept-Ranges"] == "bytes" and "Content-Disposition" not in full
    part = client.get(f"{url}m/{slot.token}", HTTP_RANGE="bytes=10-99")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == body[10:100]
    assert part["Content-Range"] == f"bytes 10-99/{len(body)}"
    tail = client.get(f"{url}m/{slot.token}", HTTP_RANGE="bytes=-16")
    assert b"".join(tail.streaming_content) == body[-16:]
    open_ended = client.get(f"{url}m/{slot.token}", HTTP_RANGE=f"bytes={len(body) - 5}-")
    assert b"".join(open_ended.streaming_content) == body[-5:]
    beyond = client.get(f"{url}m/{slot.token}", HTTP_RANGE=f"bytes={len(body)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(body)}"
    garbage = client.get(f"{url}m/{slot.token}", HTTP_RANGE="lines=1-2")
    assert garbage.status_code == 200
    assert client.get(f"{url}m/not-a-token").status_code == 404


def test_staff_media_needs_a_staff_login(client, admin_client, study):
    name = study.items.first().clips.first().media.name
    assert client.get(f"/staff/media/{name}").status_code == 302
    assert admin_client.get(f"/staff/media/{name}").status_code == 200
    assert admin_client.get("/staff/media/../../etc/passwd").status_code == 404
    assert admin_client.get("/staff/media/clips/a%00b.mp4").status_code == 404


def test_participant_pages_refuse_framing_unless_mturk_is_allowed(client, study, settings):
    page = client.get(f"/s/{study.slug}/")
    assert page["X-Frame-Options"] == "DENY"
    settings.PARTICIPANT_FRAME_ANCESTORS = "https://www.mturk.com"
    page = client.get(f"/s/{study.slug}/")
    assert "X-Frame-Options" not in page
    assert page["Content-Security-Policy"] == "frame-ancestors 'self' https://www.mturk.com"


def test_no_junk_request_ends_in_a_server_error(client, study):
    url, session, trial = _trial_ready(client, study)
    slot = trial.slots.first().token
    junk = [
        ("put", url, {}),
        ("delete", url + "t/0/answer", {}),
        ("post", url + "t/0/answer", {"overall": ["A", "B"]}),
        ("post", url + "t/0/answer", {"overall": "\x00"}),
        ("post", url + "t/0/event", {"slot": "A" * 5000, "kind": "play"}),
        ("post", url + "t/-1/event", {"slot": "A", "kind": "play"}),
        ("post", url + "t/abc/answer", {}),
        ("get", url + "m/" + slot + "x", {}),
        ("get", url + "m/" + "%00", {}),
        ("get", url.replace("/p/", "/p/..%2f"), {}),
        ("get", f"/s/{study.slug}/", {"code": "é" * 3}),
        (
            "get",
            f"/s/{study.slug}/",
            {
                "assignmentId": "A",
                "workerId": "W",
                "hitId": "H",
                "turkSubmitTo": "javascript:alert(1)",
            },
        ),
        ("get", f"/s/{study.slug}/", {"turkSubmitTo": "x"}),
        ("post", f"/s/{study.slug}/", {"code": "x"}),
        ("get", f"/s/{'x' * 300}/", {}),
    ]
    for method, path, data in junk:
        response = getattr(client, method)(path, data)
        assert 200 <= response.status_code < 500, (method, path, response.status_code)
    bad_json = client.post(url + "t/0/answer", data=b"{not json", content_type="application/json")
    assert 400 <= bad_json.status_code < 500
    bad_length = client.post(url + "t/0/event", {"slot": "A"}, CONTENT_LENGTH="lots")
    assert bad_length.status_code == 400
    assert not Vote.objects.exists()


def test_nul_bytes_anywhere_are_refused_cleanly(client, study):
    url, session, trial = _trial_ready(client, study)
    for path in (url + "m/abc%00defgh", url.replace("/p/", "/p/%00"), f"/s/{study.slug}/"):
        response = client.get(path, {"code": "a\x00b"} if path.endswith("/s/live/") else None)
        assert 400 <= response.status_code < 500, path
    response = client.post(url + "t/0/answer", {"overall": "A\x00"})
    assert response.status_code == 400
    huge = client.post(url + "t/99999999999999999999999/event", {"slot": "A", "kind": "play"})
    assert huge.status_code == 404
