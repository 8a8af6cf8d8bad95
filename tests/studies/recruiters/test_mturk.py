"""The MTurk adapter with botocore's Stubber, which checks each request against the real
service model."""

import datetime
import xml.etree.ElementTree as ET

import boto3
import pytest
from botocore.stub import Stubber

from studies.recruiters.base import RecruiterError, Submission, TransientError
from studies.recruiters.mturk import SCHEMA, MTurk, external_question


class _Study:
    slug = "foley"


class _Recruitment:
    pk = 7
    study = _Study()
    places = 9
    reward_cents = 125
    remote_id = "HIT123"


@pytest.fixture
def client():
    client = boto3.client(
        "mturk",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        endpoint_url="https://mturk-requester-sandbox.us-east-1.amazonaws.com",
    )
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()


def test_external_question_is_well_formed_with_the_namespace_and_an_escaped_https_url():
    xml = external_question("https://eval.example.org/s/foley/?a=1&b=2", 800)
    root = ET.fromstring(xml)
    assert root.tag == f"{{{SCHEMA}}}ExternalQuestion"
    assert root.find(f"{{{SCHEMA}}}ExternalURL").text == "https://eval.example.org/s/foley/?a=1&b=2"
    assert root.find(f"{{{SCHEMA}}}FrameHeight").text == "800"
    with pytest.raises(RecruiterError, match="HTTPS"):
        external_question("http://eval.example.org/s/foley/")


def test_create_hit_before_the_closure(client):
    client.stubber.add_response(
        "create_hit",
        {"HIT": {"HITId": "HIT123"}},
        expected_params={
            "Title": "Which music fits?",
            "Description": "Choose music",
            "Keywords": "music, video, listening, headphones",
            "Reward": "1.25",
            "MaxAssignments": 9,
            "LifetimeInSeconds": 7 * 24 * 3600,
            "AssignmentDurationInSeconds": 2700,
            "AutoApprovalDelayInSeconds": 3 * 24 * 3600,
            "Question": external_question("https://eval.example.org/s/foley/"),
            "QualificationRequirements": [],
            "RequesterAnnotation": "foley#7",
            "UniqueRequestToken": "create-foley-7",
        },
    )
    mturk = MTurk(client, sandbox=True, today=datetime.date(2026, 9, 1))
    hit = mturk.create(
        _Recruitment(),
        study_url="https://eval.example.org/s/foley/",
        title="Which music fits?",
        description="Choose music",
        minutes=15,
        completion_code="x",
    )
    assert hit == "HIT123"


def test_creating_hits_after_the_closure_is_refused(client):
    mturk = MTurk(client, today=datetime.date(2026, 11, 21))
    with pytest.raises(RecruiterError, match="closed permanently on 2026-09-30"):
        mturk.create(
            _Recruitment(),
            study_url="https://eval.example.org/s/foley/",
            title="t",
            description="d",
            minutes=10,
            completion_code="x",
        )


def test_assignments_are_read_across_pages(client):
    def assignment(n):
        return {"AssignmentId": f"A{n}", "WorkerId": f"W{n}", "AssignmentStatus": "Submitted"}

    client.stubber.add_response(
        "list_assignments_for_hit",
        {"Assignments": [assignment(1), assignment(2)], "NextToken": "page2", "NumResults": 2},
        expected_params={"HITId": "HIT123", "MaxResults": 100},
    )
    client.stubber.add_response(
        "list_assignments_for_hit",
        {"Assignments": [assignment(3)], "NumResults": 1},
        expected_params={"HITId": "HIT123", "MaxResults": 100, "NextToken": "page2"},
    )
    subs = MTurk(client).submissions(_Recruitment())
    assert [s.remote_id for s in subs] == ["A1", "A2", "A3"]


def test_approve_reject_and_a_bonus_with_its_token(client):
    client.stubber.add_response("approve_assignment", {}, {"AssignmentId": "A1"})
    client.stubber.add_response(
        "reject_assignment", {}, {"AssignmentId": "A2", "RequesterFeedback": "two checks failed"}
    )
    client.stubber.add_response(
        "send_bonus",
        {},
        {
            "WorkerId": "W1",
            "AssignmentId": "A1",
            "BonusAmount": "0.50",
            "Reason": "thanks",
            "UniqueRequestToken": "bonus-A1",
        },
    )
    mturk = MTurk(client)
    mturk.approve(_Recruitment(), "A1")
    mturk.reject(_Recruitment(), "A2", "two checks failed")
    mturk.bonus(_Recruitment(), Submission("A1", "W1", "Approved"), 50, "thanks", "bonus-A1")


def test_a_repeated_bonus_token_reads_as_already_paid(client):
    client.stubber.add_client_error(
        "send_bonus",
        service_error_code="RequestError",
        service_message="The UniqueRequestToken bonus-A1 has already been used.",
        http_status_code=400,
    )
    result = MTurk(client).bonus(
        _Recruitment(), Submission("A1", "W1", "Approved"), 50, "thanks", "bonus-A1"
    )
    assert result["already_paid"] is True


def test_throttling_and_service_faults_are_retried(client):
    client.stubber.add_client_error(
        "approve_assignment", service_error_code="ServiceFault", http_status_code=500
    )
    client.stubber.add_client_error(
        "approve_assignment", service_error_code="ThrottlingException", http_status_code=429
    )
    client.stubber.add_response("approve_assignment", {}, {"AssignmentId": "A1"})
    waits = []
    MTurk(client, sleep=waits.append).approve(_Recruitment(), "A1")
    assert len(waits) == 2
    client.stubber.add_client_error(
        "approve_assignment", service_error_code="RequestError", http_status_code=400
    )
    client.stubber.add_response(
        "get_assignment",
        {"Assignment": {"AssignmentId": "A1", "AssignmentStatus": "Submitted"}},
        {"AssignmentId": "A1"},
    )
    with pytest.raises(RecruiterError) as info:
        MTurk(client, sleep=waits.append).approve(_Recruitment(), "A1")
    assert not isinstance(info.value, TransientError)
    assert len(waits) == 2  # a refusal is not retried


def test_an_approval_that_went_through_before_a_timeout_is_not_an_error(client):
    client.stubber.add_client_error(
        "approve_assignment",
        service_error_code="RequestError",
        service_message="This operation can be called with a status of: Submitted",
        http_status_code=400,
    )
    client.stubber.add_response(
        "get_assignment",
        {"Assignment": {"AssignmentId": "A1", "AssignmentStatus": "Approved"}},
        {"AssignmentId": "A1"},
    )
    assert MTurk(client).approve(_Recruitment(), "A1") == {"already": "Approved"}
