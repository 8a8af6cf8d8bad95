"""The Prolific adapter against HTTP responses shaped as Prolific's documented API."""

import json

import jsonschema
import pytest
import requests
import responses

from studies.recruiters.base import RecruiterError, TransientError
from studies.recruiters.prolific import API, Prolific, study_body
from tests.studies.recruiters import prolific_api as api


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


def _create(prolific, recruitment=None, **overrides):
    fields = dict(
        study_url="https://eval.example.org/s/foley/",
        title="Which music fits the video?",
        description="Watch short videos and choose music.",
        minutes=15,
        completion_code="C0DE1234",
    )
    return prolific.create(recruitment or _Recruitment(), **{**fields, **overrides})


@responses.activate
def test_create_sends_a_body_prolific_documents(prolific):
    responses.post(f"{API}studies/", status=201, json=api.STUDY_CREATED)
    assert _create(prolific) == api.STUDY_CREATED["id"]
    request = responses.calls[0].request
    assert request.headers["Authorization"] == "Token secret-token"
    body = json.loads(request.body)
    api.validate(body, api.CREATE_STUDY)  # every field and value as Prolific documents them
    assert body["external_study_url"] == (
        "https://eval.example.org/s/foley/?PROLIFIC_PID={{%PROLIFIC_PID%}}"
        "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert body["prolific_id_option"] == "url_parameters"
    done, screenout = body["completion_codes"]
    assert done["code"] == "C0DE1234" and done["code_type"] == "COMPLETED"
    assert screenout["code"] == "SCREEN99"
    assert screenout["actions"] == [
        {"action": "FIXED_SCREEN_OUT_PAYMENT", "fixed_screen_out_reward": 20, "slots": 40}
    ]
    assert (body["total_available_places"], body["reward"]) == (40, 450)
    assert body["peripheral_requirements"] == ["audio"]
    assert body["estimated_completion_time"] == 15 and body["maximum_allowed_time"] >= 15


# The body this adapter sent before 2026-12-07, which Prolific answers with HTTP 400.
OLD_BODY = {
    "name": "Which music fits the video?",
    "internal_name": "foley #3",
    "description": "Watch short videos and choose music.",
    "external_study_url": "https://eval.example.org/s/foley/?PROLIFIC_PID={{%PROLIFIC_PID%}}",
    "prolific_id_option": "url_parameters",
    "completion_codes": [
        {"code": "C0DE1234", "code_type": "COMPLETED", "actions": [{"action": "MANUALLY_REVIEW"}]},
        {
            "code": "SCREEN99",
            "code_type": "FIXED_SCREENOUT_PAYMENT",
            "actions": [{"action": "FIXED_SCREENOUT_PAYMENT", "fixed_screenout_reward": 20}],
        },
    ],
    "total_available_places": 40,
    "estimated_completion_time": 15,
    "reward": 450,
    "device_compatibility": ["desktop"],
}


def test_the_schema_refuses_the_old_misspelt_body():
    with pytest.raises(jsonschema.ValidationError):
        api.validate(OLD_BODY, api.CREATE_STUDY)


def _body(**overrides) -> dict:
    fields = dict(
        study_url="https://eval.example.org/s/foley/",
        title="T",
        description="D",
        minutes=10,
        completion_code="C0DE1234",
    )
    return study_body(_Recruitment(), **{**fields, **overrides})


def _screenout_action(body) -> dict:
    return body["completion_codes"][1]["actions"][0]


def _rename(d: dict, old: str, new: str) -> None:
    d[new] = d.pop(old)


# Today's body with one field misspelt or given a value Prolific does not take, one at a time.
MUTATIONS = {
    "top-level misspelling": lambda b: _rename(b, "peripheral_requirements", "peripherals"),
    "screen-out reward misspelt": lambda b: _rename(
        _screenout_action(b), "fixed_screen_out_reward", "fixed_screenout_reward"
    ),
    "slots missing": lambda b: _screenout_action(b).pop("slots"),
    "action misspelt": lambda b: _screenout_action(b).update(action="FIXED_SCREENOUT_PAYMENT"),
    "unknown code type": lambda b: b["completion_codes"][1].update(code_type="SCREENOUT"),
    "reward as a string": lambda b: b.update(reward="4.50"),
    "unknown peripheral": lambda b: b.update(peripheral_requirements=["headphones"]),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_schema_refuses_any_misspelt_or_wrong_field(mutation):
    body = _body()
    api.validate(body, api.CREATE_STUDY)
    MUTATIONS[mutation](body)
    with pytest.raises(jsonschema.ValidationError):
        api.validate(body, api.CREATE_STUDY)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"screenout_reward_cents": 450}, "below the reward"),
        ({"screenout_reward_cents": 0}, "above 0"),
        ({"places": 0}, "places must be at least 1"),
        ({"study_url": "http://eval.example.org/s/foley/"}, "must use https"),
        ({"study_url": "https://localhost:8000/s/foley/"}, "not reachable from the internet"),
        ({"minutes": 0}, "at least 1 minute"),
    ],
)
@responses.activate
def test_values_prolific_would_refuse_are_named_and_nothing_is_sent(prolific, change, problem):
    recruitment = _Recruitment()
    recruitment.study = _Study()
    if "screenout_reward_cents" in change:
        recruitment.study.screenout_reward_cents = change["screenout_reward_cents"]
    if "places" in change:
        recruitment.places = change["places"]
    overrides = {k: v for k, v in change.items() if k in ("study_url", "minutes")}
    with pytest.raises(RecruiterError, match=problem):
        _create(prolific, recruitment, **overrides)
    assert not responses.calls


def test_a_local_url_is_allowed_when_the_site_is_not_in_production():
    body = _body(study_url="http://127.0.0.1:8000/s/foley/", require_public_url=False)
    api.validate(body, api.CREATE_STUDY)
    with pytest.raises(RecruiterError, match="must use https"):
        _body(study_url="http://127.0.0.1:8000/s/foley/")


@responses.activate
def test_a_400_names_the_fields_prolific_refused(prolific):
    responses.post(f"{API}studies/", status=400, json=api.VALIDATION_ERROR)
    with pytest.raises(RecruiterError) as info:
        _create(prolific)
    text = str(info.value)
    assert "HTTP 400" in text and "Request validation failed." in text
    assert "completion_codes: Invalid action FIXED_SCREENOUT_PAYMENT." in text
    assert "fixed_screenout_reward: Unknown field." in text
    assert not isinstance(info.value, TransientError) and len(responses.calls) == 1


@responses.activate
def test_publish_and_paginated_submissions(prolific):
    responses.post(f"{API}studies/60f0c0ffee/transition/", json=api.STUDY_PUBLISHED)
    second = f"{API}studies/60f0c0ffee/submissions/?page=2"
    responses.get(
        f"{API}studies/60f0c0ffee/submissions/",
        json=api.submissions_page([("s1", "p1", "AWAITING REVIEW")], second),
    )
    responses.get(second, json=api.submissions_page([("s2", "p2", "RETURNED")], None))
    prolific.publish(_Recruitment())
    assert json.loads(responses.calls[0].request.body) == {"action": "PUBLISH"}
    api.validate(json.loads(responses.calls[0].request.body), api.STUDY_TRANSITION)
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
    api.validate(body, api.SUBMISSION_TRANSITION)


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
    api.validate(created, api.BONUS_SETUP)


def test_a_missing_token_is_a_clear_error():
    with pytest.raises(RecruiterError, match="PROLIFIC_API_TOKEN"):
        Prolific("")
