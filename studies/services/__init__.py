"""Every write the platform makes. Views, admin actions and commands call these and hold no logic.

Each participant request is one transaction: an answer is stored whole or not at all, and a
repeated submit returns what was stored the first time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from studies import allocation
from studies.designs import design_of
from studies.errors import AnswerRejected, NotFound, StudyError, StudyNotOpen, StudyNotReady
from studies.models import (
    Criterion,
    Participant,
    Session,
    Study,
    System,
    Trial,
    Vote,
)
from studies.selectors import study_closed_message, study_problems
from studies.services._common import (
    ensure_answerable,
    session_complete,
    trial_anchor,
    trials_done,
)

# --- studies ---------------------------------------------------------------------------------


def criteria_add_defaults(*, study: Study) -> list[Criterion]:
    """Add the design's default criteria (for best_of, the four of the Foley Music study) that
    the study does not have yet."""
    existing = set(study.criteria.values_list("key", flat=True))
    created = []
    for order, (key, question) in enumerate(design_of(study).default_criteria):
        if key not in existing:
            created.append(
                Criterion.objects.create(study=study, key=key, question=question, order=order)
            )
    return created


def study_use_design_texts(*, study: Study) -> None:
    """Instructions left at the model's default (written for best_of) become the design's own."""
    default = Study._meta.get_field("instructions").default
    own = design_of(study).instructions
    if own and study.instructions == default:
        study.instructions = own


@transaction.atomic
def study_create(
    *,
    title: str,
    slug: str,
    systems: list[tuple] = (),
    default_criteria: bool = True,
    **fields,
) -> Study:
    """Create a draft study, its systems ((key, name) or (key, name, role)) and, by default,
    its design's default criteria (and its default instructions, unless given)."""
    study = Study(title=title, slug=slug, **fields)
    study_use_design_texts(study=study)
    study.full_clean()
    study.save()
    for key, name, *role in systems:
        system = System(study=study, key=key, name=name, role=role[0] if role else "generated")
        system.full_clean()
        system.save()
    if default_criteria:
        criteria_add_defaults(study=study)
    return study


@transaction.atomic
def study_launch(*, study: Study) -> Study:
    """Check the study is complete and set it live; raise StudyNotReady listing every problem."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status == Study.Status.CLOSED:
        raise StudyNotReady(["The study is closed; closed studies cannot be launched again."])
    _study_equalize_versions(study)
    _study_audit_clips(study)
    problems = study_problems(study=study)
    if problems:
        raise StudyNotReady(problems)
    if study.screening:
        from studies.services.screening import screening_pool_ensure

        screening_pool_ensure(study=study)
    study.status = Study.Status.LIVE
    study.launched_at = study.launched_at or timezone.now()
    study.save(update_fields=["status", "launched_at"])
    return study


def _study_equalize_versions(study: Study) -> None:
    """Pad every item's versions to one byte length, for items no real rater has a trial on
    yet (a dry run's trials do not hold an item back)."""
    from studies.stimuli.sizes import item_versions_equalize

    items = study.items.exclude(trials__session__simulated=False)
    for item in items.prefetch_related("clips", "check_clips"):
        item_versions_equalize(item)


def _study_audit_clips(study: Study) -> None:
    """Audit the sound of every clip that has no audit of its current file yet
    (studies.stimuli.audit); a clip that cannot be decoded is recorded as such."""
    from studies import storage
    from studies.models import Clip
    from studies.stimuli.audit import file_audit

    for clip in Clip.objects.filter(item__study=study):
        if clip.provenance.get("audio", {}).get("media") == clip.media.name:
            continue
        try:
            with storage.local_copy(clip.media) as path:
                audit = file_audit(path)
        except (ValueError, FileNotFoundError) as exc:
            audit = {"error": str(exc)}
        clip.provenance = {**clip.provenance, "audio": {**audit, "media": clip.media.name}}
        clip.save(update_fields=["provenance"])


def study_set_status(*, study: Study, status: str) -> Study:
    """Pause or close a study (launching goes through study_launch)."""
    allowed = {Study.Status.PAUSED: {Study.Status.LIVE}, Study.Status.CLOSED: set(Study.Status)}
    if status not in allowed:
        raise StudyError(f"Use study_launch to make a study {status}.")
    if study.status not in allowed[status]:
        raise StudyError(f"A {study.status} study cannot be set to {status}.")
    study.status = status
    study.save(update_fields=["status"])
    return study


# --- participants and sessions ---------------------------------------------------------------


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


# --- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerResult:
    trial: Trial
    # The stored answer as the design parses it: criterion -> chosen slot position (None: no
    # preference) for choice designs, criterion -> {slot position: score} for rating designs.
    choices: dict
    created: bool  # False when this repeated an answer already stored


def trial_answer(
    *,
    session: Session,
    trial_index: int,
    choices: dict,
    now: datetime | None = None,
) -> AnswerResult:
    """Store a trial's answer (the design's votes: one choice per criterion, or one score per
    version and criterion), all in one transaction.

    Repeating the submit of an answered trial returns the stored answer and changes nothing.
    """
    now = now or timezone.now()
    ensure_answerable(session)
    try:
        with transaction.atomic():
            trial = (
                Trial.objects.select_for_update().filter(session=session, index=trial_index).first()
            )
            if trial is None:
                raise NotFound("There is no such trial in this session.")
            if trial.answered_at is not None:
                return _stored_answer(trial)
            if trial.skipped_at is not None:
                raise AnswerRejected("This trial was skipped; please go on.", status=409)
            _store_votes(session, trial, choices, now)
    except IntegrityError:
        # A concurrent identical submit won the race; its answer is the stored one.
        return _stored_answer(Trial.objects.get(session=session, index=trial_index))
    return AnswerResult(trial=trial, choices=dict(choices), created=True)


def _store_votes(session: Session, trial: Trial, answer: dict, now: datetime) -> None:
    study = session.study
    criteria = {c.key: c for c in study.criteria.all()}
    slots = {s.position: s for s in trial.slots.all()}
    rows = design_of(study).vote_rows(
        study=study, answer=answer, criterion_keys=list(criteria), n_slots=len(slots)
    )
    if any(s.played_to_end_at is None for s in slots.values()):
        raise AnswerRejected("Please play every video to the end before answering.", status=409)
    from studies import listening

    if listening.answer_too_soon(
        durations_s=[s.duration_s for s in slots.values()],
        server_elapsed_s=(now - trial_anchor(trial)).total_seconds(),
    ):
        raise AnswerRejected("Please play every video to the end before answering.", status=409)
    unlocked = max(s.played_to_end_at for s in slots.values())
    rt_ms = max(0, int((now - unlocked).total_seconds() * 1000))
    Vote.objects.bulk_create(
        Vote(
            trial=trial,
            criterion=criteria[row.criterion_key],
            slot=slots[row.position] if row.position is not None else None,
            score=row.score,
            rt_ms=rt_ms,
            submitted_at=now,
        )
        for row in rows
    )
    trial.answered_at = now
    trial.save(update_fields=["answered_at"])
    if trials_done(session) >= session.n_trials:
        session_complete(session, now)


def _stored_answer(trial: Trial) -> AnswerResult:
    votes = trial.votes.select_related("criterion", "slot")
    choices = design_of(trial.session.study).stored(votes)
    return AnswerResult(trial=trial, choices=choices, created=False)


# --- review ----------------------------------------------------------------------------------


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


from studies.services.playback import (  # noqa: E402  (re-exported: callers use services.X)
    SKIP_AFTER_FAILURES,
    PlaybackState,
    playback_record,
    playback_state,
    trial_skip,
)
from studies.services.screening import (  # noqa: E402
    MIN_SCREEN,
    SCREENED_OUT_MESSAGE,
    ScreeningResult,
    screening_device_submit,
    screening_playback_record,
    screening_submit,
)

__all__ = [
    "SKIP_AFTER_FAILURES",
    "PlaybackState",
    "playback_record",
    "playback_state",
    "trial_skip",
    "MIN_SCREEN",
    "SCREENED_OUT_MESSAGE",
    "ScreeningResult",
    "screening_device_submit",
    "screening_playback_record",
    "screening_submit",
]
