"""Small rules every participant write shares: may this session answer, when is it done."""

from datetime import datetime

from django.db.models import Q

from studies.errors import StudyError, StudyNotOpen
from studies.models import Session, Study, Trial
from studies.selectors.sessions import study_closed_message


def ensure_answerable(session: Session) -> None:
    if session.study.status == Study.Status.CLOSED:
        raise StudyNotOpen(study_closed_message(study=session.study))
    if session.status == Session.Status.CONSENT:
        raise StudyError("Please give your consent first.", status=409)
    if session.status == Session.Status.SCREENING:
        raise StudyError("Please finish the sound checks first.", status=409)
    if session.status in (Session.Status.SCREENED_OUT, Session.Status.ABANDONED):
        raise StudyError("This session has ended.", status=409)


def session_complete(session: Session, now: datetime) -> None:
    if session.status != Session.Status.COMPLETED:
        session.status = Session.Status.COMPLETED
        session.completed_at = now
        session.save(update_fields=["status", "completed_at"])


def trial_anchor(trial: Trial) -> datetime:
    return trial.served_at or trial.allocated_at


def trials_done(session: Session) -> int:
    return session.trials.filter(Q(answered_at__isnull=False) | Q(skipped_at__isnull=False)).count()
