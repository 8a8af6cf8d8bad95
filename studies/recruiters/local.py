"""Local links and codes: the default recruiter. Nothing is remote: participants arrive through
the study's link (or a code), and approvals and bonuses are recorded in the ledger only, for the
researcher to pay however they pay."""

from studies.models import Session
from studies.recruiters.base import Recruiter, Submission


class Local(Recruiter):
    key = "local"
    idempotent = {
        "create": True,
        "approve": True,
        "reject": True,
        "bonus": True,
        "add_places": True,
    }

    def create(self, recruitment, **kwargs) -> str:
        return f"local-{recruitment.pk}"

    def publish(self, recruitment) -> dict:
        return {}

    def submissions(self, recruitment) -> list[Submission]:
        sessions = Session.objects.select_related("participant").filter(
            study=recruitment.study, participant__source="local"
        )
        return [
            Submission(str(s.pk), s.participant.external_id, s.status, {"session": s.pk})
            for s in sessions
        ]

    def approve(self, recruitment, submission_id: str) -> dict:
        return {"recorded": "approve"}

    def reject(self, recruitment, submission_id: str, message: str) -> dict:
        return {"recorded": "reject"}

    def bonus(self, recruitment, submission, cents, reason, token) -> dict:
        return {"recorded": "bonus", "cents": cents}

    def add_places(self, recruitment, total: int) -> dict:
        return {"places": total}
