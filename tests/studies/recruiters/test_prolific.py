"""The Prolific adapter against HTTP responses shaped as Prolific's documented API."""

import json

import pytest
import requests
import responses

from studies.recruiters.base import RecruiterError, TransientError
from studies.recruiters.prolific import API, Prolific


class _Study:
    screenout_code = "SCREEN99"
    screenout_reward_cents = 20
    slug = "foley"


class _Recruitment:
    pk = 3
    study = _Study()
    places = 40
    reward_cents = 450
    remote_id = "60f0c0ffee"


@pytest.fixture
def prolific():
    return Prolific("secret-token")


@responses.activate
def test_create_sends_the_url_parameters_completion_code_and_token(prolific):
    responses.post(f"{API}studies/", json={"id": "60f0c0ffee", "status": "UNPUBLISHED"})
    remote_id = prolific.create(
        _Recruitment(),
        study_url="https://eval.example.org/s/foley/",
        title="Which music fits the video?",
        description="Watch short videos and choose music.",
        minutes=15,
        completion_code="C0DE1234",
    )
    assert remote_id == "60f0c0ffee"
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Token secret-token"
    body = json.loads(request.body)
    assert body["external_study_url"] == (
        "https://eval.example.org/s/foley/?PROLIFIC_PID={{%PROLIFIC_PID%}}"
        "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert body["prolific_id_option"] == "url_parameters"
    assert body["completion_codes"][0]["code"] == "C0DE1234"
    screenout = body["completion_codes"][1]
    assert screenout["code"] == "SCREEN99" and screenout["code_type"] == "FIXED_SCREENOUT_PAYMENT"
    assert screenout["actions"][0]["fixed_screenout_reward"] == 20
    assert (body["total_available_places"], body["reward"]) == (40, 450)


@responses.activate
def test_publish_and_paginated_submissions(prolific):
    responses.post(f"{API}studies/60f0c0ffee/transition/", json={"status": "ACTIVE"})
    second = f"{API}studies/60f0c0ffee/submissions/?page=2"
    responses.get(
        f"{API}studies/60f0c0ffee/submissions/",
        json={
            "results": [{"id": "s1", "participant_id": "p1", "status": "AWAITING REVIEW"}],
            "_links": {"next": {"href": second}},
        },
    )
    responses.get(
        second,
        json={
            "results": [{"id": "s2", "participant_id": "p2", "status": "RETURNED"}],
            "_links": {"next": {"href": None}},
        },
    )
    prolific.publish(_Recruitment())
    assert json.loads(responses.calls[0].request.body) == {"action": "PUBLISH"}
    subs = prolific.submissions(_Recruitment())
    assert [(s.remote_id, s.participant_id, s.status) for s in subs] == [
        ("s1", "p1", "AWAITING REVIEW"),
        ("s2", "p2", "RETURNED"),
    ]


@responses.activate
def test_reject_needs_a_long_message_and_a_category(prolific):
    with pytest.raises(RecruiterError, match="at least 100 characters"):
        prolific.reject(_Recruitment(), "s1", "failed checks")
    assert not responses.calls
    responses.post(f"{API}submissions/s1/transition/", json={"status": "REJECTED"})
    message = "You answered two of the attention checks incorrectly. " * 2
    prolific.reject(_Recruitment(), "s1", message)
    body = json.loads(responses.calls[0].request.body)
    assert body["action"] == "REJECT" and body["rejection_category"] == "FAILED_CHECK"


@responses.activate
@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.ConnectTimeout("slow")},
        {"status": 429, "headers": {"Retry-After": "2"}},
        {"status": 503},
    ],
    ids=["timeout", "429", "5xx"],
)
def test_timeouts_429_and_5xx_are_retried_with_backoff(prolific, failure):
    url = f"{API}submissions/s1/transition/"
    responses.post(url, **failure)
    responses.post(url, json={"status": "APPROVED"})
    waits = []
    prolific.sleep = waits.append
    result = prolific.approve(_Recruitment(), "s1")
    assert result == {"status": "APPROVED"}
    assert len(responses.calls) == 2 and len(waits) == 1
    if "headers" in failure:
        assert waits == [2.0]  # Prolific's Retry-After is honoured


@responses.activate
def test_client_errors_are_not_retried_and_persistent_5xx_gives_up(prolific):
    responses.post(f"{API}submissions/bad/transition/", status=400, json={"error": "no"})
    prolific.sleep = lambda seconds: None
    with pytest.raises(RecruiterError, match="HTTP 400") as info:
        prolific.approve(_Recruitment(), "bad")
    assert not isinstance(info.value, TransientError)
    assert len(responses.calls) == 1
    responses.post(f"{API}submissions/down/transition/", status=502)
    with pytest.raises(TransientError):
        prolific.approve(_Recruitment(), "down")
    assert len(responses.calls) == 1 + 4  # four attempts, then the error


@responses.activate
def test_paying_a_bonus_is_never_retried(prolific):
    responses.post(f"{API}submissions/bonus-payments/", json={"id": "b1"})
    responses.post(f"{API}bulk-bonus-payments/b1/pay/", body=requests.ReadTimeout("lost"))
    prolific.sleep = lambda seconds: None
    from studies.recruiters.base import Submission

    with pytest.raises(TransientError):
        prolific.bonus(_Recruitment(), Submission("s1", "p1", "APPROVED"), 125, "thanks", "k")
    pays = [c for c in responses.calls if c.request.url.endswith("/pay/")]
    assert len(pays) == 1
    created = json.loads(responses.calls[0].request.body)
    assert created == {"study_id": "60f0c0ffee", "csv_bonuses": "p1,1.25\n"}


def test_a_missing_token_is_a_clear_error():
    with pytest.raises(RecruiterError, match="PROLIFIC_API_TOKEN"):
        Prolific("")
