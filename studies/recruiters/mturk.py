"""MTurk through boto3 with an ExternalQuestion (the study URL in MTurk's iframe).

Amazon Mechanical Turk closed permanently on 2026-09-30: creating HITs after that date is
refused (the adapter stays for accounts and archives that still need the protocol: reviewing and
paying assignments that exist). Bonuses carry a UniqueRequestToken, so MTurk itself refuses a
repeat; a repeat's error is read as "already paid".
"""

import datetime
import time
from xml.sax.saxutils import escape

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from studies.recruiters.base import (
    Recruiter,
    RecruiterError,
    Submission,
    TransientError,
    with_retries,
)

ENDPOINTS = {
    False: "https://mturk-requester.us-east-1.amazonaws.com",
    True: "https://mturk-requester-sandbox.us-east-1.amazonaws.com",
}
CLOSED_ON = datetime.date(2026, 9, 30)
SCHEMA = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/"
    "ExternalQuestion.xsd"
)
# System qualifications: approved HITs >= 500, approval rate >= 98 %, US locale (as P.808).
QUALIFICATIONS = [
    {
        "QualificationTypeId": "00000000000000000040",
        "Comparator": "GreaterThanOrEqualTo",
        "IntegerValues": [500],
    },
    {
        "QualificationTypeId": "000000000000000000L0",
        "Comparator": "GreaterThanOrEqualTo",
        "IntegerValues": [98],
    },
    {
        "QualificationTypeId": "00000000000000000071",
        "Comparator": "EqualTo",
        "LocaleValues": [{"Country": "US"}],
    },
]
THROTTLING = {"Throttling", "ThrottlingException", "ServiceUnavailable", "ServiceFault"}


def external_question(url: str, frame_height: int = 0) -> str:
    if not url.startswith("https://"):
        raise RecruiterError(f"MTurk needs an HTTPS study URL, not {url!r}")
    return (
        f'<ExternalQuestion xmlns="{SCHEMA}"><ExternalURL>{escape(url)}</ExternalURL>'
        f"<FrameHeight>{int(frame_height)}</FrameHeight></ExternalQuestion>"
    )


def _send(method, **kwargs) -> dict:
    try:
        return method(**kwargs)
    except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError) as exc:
        raise TransientError(f"MTurk {method.__name__}: {exc}") from None
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if status == 429 or status >= 500 or code in THROTTLING:
            raise TransientError(f"MTurk {method.__name__}: {code} {message}") from None
        raise RecruiterError(f"MTurk {method.__name__}: {code} {message}") from None


class MTurk(Recruiter):
    # MTurk lists no returned or abandoned assignment (only submitted ones), so none is seen
    # here: their trials free up when the lease runs out, and MTurk offers the assignment again.
    key = "mturk"
    idempotent = {
        "create": True,
        "approve": True,
        "reject": True,
        "bonus": True,
        "add_places": True,
    }

    def __init__(self, client=None, *, sandbox: bool = False, today=None, sleep=time.sleep):
        if client is None:
            import boto3

            client = boto3.client("mturk", region_name="us-east-1", endpoint_url=ENDPOINTS[sandbox])
        self.client = client
        self.sandbox = sandbox
        self.today = today or datetime.date.today()
        self.sleep = sleep

    def _call(self, method, **kwargs) -> dict:
        """Every MTurk call is safe to repeat (reads, approvals checked by status, bonuses and
        HITs carrying a UniqueRequestToken), so timeouts, throttling and 5xx are retried."""
        return with_retries(lambda: _send(method, **kwargs), sleep=self.sleep)

    def create(self, recruitment, *, study_url, title, description, minutes, completion_code):
        if self.today > CLOSED_ON:
            raise RecruiterError(
                "Amazon Mechanical Turk closed permanently on 2026-09-30; publish on Prolific "
                "(the default) or share local links"
            )
        response = self._call(
            self.client.create_hit,
            Title=title,
            Description=description,
            Keywords="music, video, listening, headphones",
            Reward=f"{recruitment.reward_cents / 100:.2f}",
            MaxAssignments=recruitment.places,
            LifetimeInSeconds=7 * 24 * 3600,
            AssignmentDurationInSeconds=max(600, minutes * 60 * 3),
            AutoApprovalDelayInSeconds=3 * 24 * 3600,
            Question=external_question(study_url),
            QualificationRequirements=[] if self.sandbox else QUALIFICATIONS,
            RequesterAnnotation=f"{recruitment.study.slug}#{recruitment.pk}",
            UniqueRequestToken=f"create-{recruitment.study.slug}-{recruitment.pk}"[:64],
        )
        return response["HIT"]["HITId"]

    def publish(self, recruitment) -> dict:
        return {}  # a HIT is public once created

    def submissions(self, recruitment) -> list[Submission]:
        out, token = [], None
        while True:
            kwargs = {"HITId": recruitment.remote_id, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            page = self._call(self.client.list_assignments_for_hit, **kwargs)
            for a in page.get("Assignments", []):
                out.append(Submission(a["AssignmentId"], a["WorkerId"], a["AssignmentStatus"], a))
            token = page.get("NextToken")
            if not token:
                return out

    def _already(self, submission_id: str, status: str, exc: RecruiterError) -> dict:
        """After an error, whether an earlier (timed-out) attempt already did it."""
        found = self._call(self.client.get_assignment, AssignmentId=submission_id)
        if found["Assignment"]["AssignmentStatus"] == status:
            return {"already": status}
        raise exc

    def approve(self, recruitment, submission_id: str) -> dict:
        try:
            return self._call(self.client.approve_assignment, AssignmentId=submission_id)
        except TransientError:
            raise
        except RecruiterError as exc:
            return self._already(submission_id, "Approved", exc)

    def reject(self, recruitment, submission_id: str, message: str) -> dict:
        try:
            return self._call(
                self.client.reject_assignment,
                AssignmentId=submission_id,
                RequesterFeedback=message,
            )
        except TransientError:
            raise
        except RecruiterError as exc:
            return self._already(submission_id, "Rejected", exc)

    def bonus(self, recruitment, submission, cents, reason, token) -> dict:
        try:
            return self._call(
                self.client.send_bonus,
                WorkerId=submission.participant_id,
                AssignmentId=submission.remote_id,
                BonusAmount=f"{cents / 100:.2f}",
                Reason=reason,
                UniqueRequestToken=token[:64],
            )
        except RecruiterError as exc:
            if "UniqueRequestToken" in str(exc) or "already" in str(exc).lower():
                return {"already_paid": True, "detail": str(exc)}
            raise

    def add_places(self, recruitment, total: int) -> dict:
        raise RecruiterError(
            "MTurk HITs cannot grow past 9 assignments without a higher fee; create another HIT"
        )
