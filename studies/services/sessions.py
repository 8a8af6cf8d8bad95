"""Writes about participants and sessions: starting or resuming one, consent, the trial to do
now (allocating it), withdrawal, and which sessions' votes are used.

Each participant request is one transaction."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from studies import allocation
from studies.errors import NotFound, StudyNotOpen
from studies.models import (
    Participant,
    Session,
    Study,
    Trial,
    Vote,
)
from studies.selectors import study_closed_message
from studies.services._common import (
    ensure_answerable,
    session_complete,
)


def simulated_sessions_delete(*, study: Study) -> tuple[int, int]:
    """Remove the study's dry-run sessions (and their participants, trials, votes and playback
    events) in one transaction; returns (sessions, votes) removed. Real sessions are
    untouched."""
    with transaction.atomic():
        sessions = Session.objects.filter(study=study, simulated=True)
        n_sessions = sessions.count()
        # Votes first: they protect the trial slots they chose (a vote is never lost by
        # accident), and these votes are the dry runs' own.
        n_votes, _ = Vote.objects.filter(trial__session__in=sessions).delete()
        Participant.objects.filter(session__in=sessions).delete()  # cascades to the sessions
    return n_sessions, n_votes


def session_start(
    *,
    study: Study,
    source: str,
    external_id: str,
    recruiter_data: dict | None = None,
    user_agent: str = "",
    client_hash: str = "",
    now: datetime | None = None,
    simulated: bool = False,
) -> Session:
    """The participant's one session for the study: resumed if it exists, else started.

    New sessions only start while the study is live; existing ones can always be resumed.
    simulated: a dry run (Session.simulated).
    """
    existing = (
        Session.objects.select_related("study", "participant")
        .filter(study=study, participant__source=source, participant__external_id=external_id)
        .first()
    )
    if existing:
        return existing
    if study.status != Study.Status.LIVE:
        raise StudyNotOpen(study_closed_message(study=study))
    try:
        with transaction.atomic():
            participant = Participant.objects.create(
                study=study,
                source=source,
                external_id=external_id,
                recruiter_data=recruiter_data or {},
            )
            session = Session.objects.create(
                study=study,
                participant=participant,
                n_trials=0,
                user_agent=user_agent[:400],
                client_hash=client_hash,
                simulated=simulated,
            )
            rng = allocation.session_rng(session, -1)
            session.check_indices = allocation.plan_checks(study, study.trials_per_session, rng)
            session.n_trials = study.trials_per_session + len(session.check_indices)
            session.save(update_fields=["check_indices", "n_trials"])
    except IntegrityError:
        # The same participant arrived twice at once; the other request created the session.
        return Session.objects.get(
            study=study, participant__source=source, participant__external_id=external_id
        )
    return session


def session_consent(*, session: Session, now: datetime | None = None) -> Session:
    """Consent given: the screening comes next if the study has one, else the trials."""
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
        if locked.status == Session.Status.CONSENT:
            screening = locked.study.screening
            locked.status = Session.Status.SCREENING if screening else Session.Status.ACTIVE
            locked.consented_at = now or timezone.now()
            locked.save(update_fields=["status", "consented_at"])
            if screening:
                from studies.services.screening import screening_prepare

                screening_prepare(session=locked)
    # The caller's object follows, as it did when consent was a plain update.
    session.status, session.consented_at = locked.status, locked.consented_at
    return session


@transaction.atomic
def session_current_trial(*, session: Session, now: datetime | None = None) -> Trial | None:
    """The trial the participant should do now (allocating it if needed); None when done.

    Viewing a trial renews its lease, so a participant who comes back keeps their item.
    """
    now = now or timezone.now()
    ensure_answerable(session)
    session = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
    trial = (
        session.trials.filter(answered_at__isnull=True, skipped_at__isnull=True)
        .order_by("index")
        .first()
    )
    if trial is None:
        answered = session.trials.count()
        if answered >= session.n_trials:
            session_complete(session, now)
            return None
        # Serialise allocation per study (a row lock on PostgreSQL; SQLite's IMMEDIATE
        # transactions already serialise writers) so two arrivals never read the same loads.
        Study.objects.select_for_update().filter(pk=session.study_id).first()
        trial = allocation.allocate_trial(session=session, index=answered, now=now)
    else:
        trial.lease_expires_at = now + timedelta(minutes=session.study.lease_minutes)
        trial.served_at = trial.served_at or now
        trial.save(update_fields=["lease_expires_at", "served_at"])
    return trial


def _trial_of(session: Session, index: int) -> Trial:
    trial = Trial.objects.filter(session=session, index=index).first()
    if trial is None:
        raise NotFound("There is no such trial in this session.")
    return trial


def session_abandon(*, session: Session, now: datetime | None = None) -> bool:
    """The platform reports the participant returned the study or timed out: they withdrew.
    Their votes are no longer used and their unanswered trials release their items at once
    (rather than when the lease runs out), so allocation gives them to the next participant.
    Returns whether anything changed."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Session.objects.select_for_update().get(pk=session.pk)
        # Screened-out participants are asked to return: that is no dropout, and they hold no
        # trial. A completed session returned on the platform was withdrawn all the same.
        if locked.status in (Session.Status.ABANDONED, Session.Status.SCREENED_OUT):
            return False
        locked.status = Session.Status.ABANDONED
        locked.excluded = True
        locked.save(update_fields=["status", "excluded"])
        locked.trials.filter(answered_at__isnull=True, lease_expires_at__gt=now).update(
            lease_expires_at=now
        )
    return True


def sessions_set_use(*, study: Study, use: dict[int, bool]) -> int:
    """Mark sessions' votes as used (or excluded) after review, in one transaction; excluded
    sessions' items count as missing votes, so allocation gives them to new participants."""
    changed = 0
    with transaction.atomic():
        for session in Session.objects.select_for_update().filter(study=study, pk__in=list(use)):
            excluded = not use[session.pk]
            if session.excluded != excluded:
                session.excluded = excluded
                session.save(update_fields=["excluded"])
                changed += 1
    return changed
