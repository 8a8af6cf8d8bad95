"""The ledger: a crash between a remote call and its ledger update never pays twice."""

import boto3
import pytest
import responses
from botocore.stub import Stubber

from studies.errors import StudyError
from studies.models import Recruitment, RemoteAction, Study
from studies.recruiters import ledger
from studies.recruiters.base import Submission
from studies.recruiters.local import Local
from studies.recruiters.mturk import MTurk
from studies.recruiters.prolific import API, Prolific
from studies.services import recruiting

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


class Crash(BaseException):
    """The process dying: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def recruitment():
    study = Study.objects.create(title="Foley", slug="foley", status=Study.Status.LIVE)
    return Recruitment.objects.create(
        study=study, recruiter="prolific", remote_id="60f0c0ffee", places=10, reward_cents=300
    )


@pytest.fixture
def crash_once(monkeypatch):
    """Make the first ledger update after a remote call die, as a killed process would."""
    real = ledger._finish
    calls = {"n": 0}

    def finish(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Crash()
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger, "_finish", finish)


SUBMISSION = Submission("sub1", "pid1", "APPROVED")


@responses.activate
def test_prolific_bonus_is_paid_once_when_the_process_dies_after_paying(recruitment, crash_once):
    responses.post(f"{API}submissions/bonus-payments/", json={"id": "b1"})
    responses.post(f"{API}bulk-bonus-payments/b1/pay/", json={})
    prolific = Prolific("t")
    with pytest.raises(Crash):
        recruiting.bonus_pay(
            recruitment=recruitment, submission=SUBMISSION, cents=50, reason="r", adapter=prolific
        )
    action = RemoteAction.objects.get(key="bonus:prolific:sub1")
    assert action.state == RemoteAction.State.SENT
    # The retry: the outcome is unknown and paying is not idempotent, so nothing is sent again.
    with pytest.raises(ledger.UnknownOutcome, match="check it on the platform"):
        recruiting.bonus_pay(
            recruitment=recruitment, submission=SUBMISSION, cents=50, reason="r", adapter=prolific
        )
    pays = [c for c in responses.calls if c.request.url.endswith("/pay/")]
    assert len(pays) == 1


def test_mturk_bonus_is_paid_once_when_the_process_dies_after_paying(recruitment, crash_once):
    recruitment.recruiter = "mturk"
    recruitment.save()
    client = boto3.client(
        "mturk", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    expected = {
        "WorkerId": "pid1",
        "AssignmentId": "sub1",
        "BonusAmount": "0.50",
        "Reason": "r",
        "UniqueRequestToken": "bonus:mturk:sub1",
    }
    with Stubber(client) as stubber:
        stubber.add_response("send_bonus", {}, expected)  # MTurk pays
        stubber.add_client_error(  # ... and refuses the same token again
            "send_bonus",
            service_error_code="RequestError",
            service_message="The UniqueRequestToken bonus:mturk:sub1 has already been used",
            http_status_code=400,
            expected_params=expected,
        )
        mturk = MTurk(client)
        with pytest.raises(Crash):
            recruiting.bonus_pay(
                recruitment=recruitment, submission=SUBMISSION, cents=50, reason="r", adapter=mturk
            )
        action = recruiting.bonus_pay(
            recruitment=recruitment, submission=SUBMISSION, cents=50, reason="r", adapter=mturk
        )
        assert action.state == RemoteAction.State.DONE and action.response["already_paid"]
        # Once done, never sent again (the stubber would fail on an unexpected call).
        again = recruiting.bonus_pay(
            recruitment=recruitment, submission=SUBMISSION, cents=50, reason="r", adapter=mturk
        )
        assert again.pk == action.pk and again.attempts == 2
        stubber.assert_no_pending_responses()


@responses.activate
def test_an_approval_cut_off_by_a_crash_is_sent_again_and_recorded(recruitment, crash_once):
    url = f"{API}submissions/sub1/transition/"
    responses.post(url, json={"status": "APPROVED"})
    prolific = Prolific("t")
    with pytest.raises(Crash):
        recruiting.submission_approve(
            recruitment=recruitment, submission=SUBMISSION, adapter=prolific
        )
    action = recruiting.submission_approve(
        recruitment=recruitment, submission=SUBMISSION, adapter=prolific
    )
    assert action.state == RemoteAction.State.DONE
    assert len(responses.calls) == 2  # idempotent at Prolific: the repeat changes nothing
    # One decision per submission: a later rejection does not reach the platform.
    after = recruiting.submission_reject(
        recruitment=recruitment, submission=SUBMISSION, message="x" * 120, adapter=prolific
    )
    assert after.pk == action.pk and after.kind == RemoteAction.Kind.APPROVE
    assert len(responses.calls) == 2


def test_a_refusal_is_recorded_as_failed_with_the_reason(recruitment):
    action = recruiting.submission_reject(
        recruitment=recruitment, submission=SUBMISSION, message="too short", adapter=Prolific("t")
    )
    assert action.state == RemoteAction.State.FAILED
    assert "at least 100 characters" in action.error


def test_publish_creates_and_publishes_once_and_needs_a_live_study(recruitment):
    study = recruitment.study
    made = recruiting.recruitment_publish(
        study=study, recruiter="local", places=5, reward_cents=100, minutes=10, adapter=Local()
    )
    assert made.remote_id == f"local-{made.pk}"
    kinds = list(made.actions.values_list("kind", "state"))
    assert kinds == [("create", "done"), ("publish", "done")]
    recruiting.recruitment_continue(recruitment=made, minutes=10, adapter=Local())
    assert made.actions.count() == 2
    study.status = Study.Status.DRAFT
    study.save()
    with pytest.raises(StudyError, match="launch it before publishing"):
        recruiting.recruitment_publish(
            study=study, recruiter="local", places=5, reward_cents=100, minutes=10
        )


def test_publish_command_refuses_mturk_after_its_closure_and_bad_rewards(recruitment):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="at most two decimals"):
        call_command(
            "publish", "foley", "--recruiter", "local", "--places", "3", "--reward", "1.234"
        )
    with pytest.raises(CommandError, match="no study"):
        call_command("publish", "nosuch", "--places", "3", "--reward", "1")
    with pytest.raises(CommandError, match="closed permanently on 2026-09-30"):
        call_command("publish", "foley", "--recruiter", "mturk", "--places", "3", "--reward", "1")
    with pytest.raises(CommandError, match="PROLIFIC_API_TOKEN"):
        call_command(
            "publish", "foley", "--recruiter", "prolific", "--places", "3", "--reward", "1"
        )
    call_command("publish", "foley", "--recruiter", "local", "--places", "3", "--reward", "1.50")
    made = Recruitment.objects.get(recruiter="local")
    assert (made.places, made.reward_cents) == (3, 150)
