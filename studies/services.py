"""Every write the platform makes. Views, admin actions and commands call these and hold no logic.

Each participant request is one transaction: an answer is stored whole or not at all, and a
repeated submit returns what was stored the first time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from studies import allocation
from studies.errors import AnswerRejected, NotFound, StudyError, StudyNotOpen, StudyNotReady
from studies.models import (
    DEFAULT_CRITERIA,
    Criterion,
    Participant,
    PlaybackEvent,
    ScreeningItem,
    Session,
    Study,
    System,
    Trial,
    TrialSlot,
    Vote,
    new_token,
)
from studies.selectors import study_closed_message, study_problems

# An `ended` counts as a play-through only if its `play` came at least this long before, minus
# this slack for network delay and start-up.
PLAYTHROUGH_SLACK_S = 0.75


# --- studies ---------------------------------------------------------------------------------


def criteria_add_defaults(*, study: Study) -> list[Criterion]:
    """Add the four criteria of the Foley Music study that the study does not have yet."""
    existing = set(study.criteria.values_list("key", flat=True))
    created = []
    for order, (key, question) in enumerate(DEFAULT_CRITERIA):
        if key not in existing:
            created.append(
                Criterion.objects.create(study=study, key=key, question=question, order=order)
            )
    return created


@transaction.atomic
def study_create(
    *,
    title: str,
    slug: str,
    systems: list[tuple[str, str]] = (),
    default_criteria: bool = True,
    **fields,
) -> Study:
    """Create a draft study, its systems (key, name) and, by default, the four criteria."""
    study = Study(title=title, slug=slug, **fields)
    study.full_clean()
    study.save()
    for key, name in systems:
        system = System(study=study, key=key, name=name)
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
    problems = study_problems(study=study)
    if problems:
        raise StudyNotReady(problems)
    study.status = Study.Status.LIVE
    study.launched_at = study.launched_at or timezone.now()
    study.save(update_fields=["status", "launched_at"])
    return study


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


def session_start(
    *,
    study: Study,
    source: str,
    external_id: str,
    recruiter_data: dict | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> Session:
    """The participant's one session for the study: resumed if it exists, else started.

    New sessions only start while the study is live; existing ones can always be resumed.
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
                study=study, participant=participant, n_trials=0, user_agent=user_agent[:400]
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
                _screening_prepare(locked)
    # The caller's object follows, as it did when consent was a plain update.
    session.status, session.consented_at = locked.status, locked.consented_at
    return session


def _screening_prepare(session: Session) -> None:
    """The session's screening sounds, generated from seeds derived from its token (the same
    session always gets the same sounds), stored under random names with their answers."""
    from django.core.files.base import ContentFile

    from studies.stimuli import screening

    plan = [(ScreeningItem.Kind.AUDIO, screening.beeps)]
    plan += [(ScreeningItem.Kind.HEADPHONE, screening.headphone_trial)] * (
        session.study.headphone_trials
    )
    for index, (kind, make) in enumerate(plan):
        audio, answer = make(screening.seed_for(session.token, index))
        item = ScreeningItem(session=session, kind=kind, index=index, answer=answer)
        item.media.save(f"{new_token()}.wav", ContentFile(screening.wav_bytes(audio)), save=False)
        item.save()


# Smallest screen the trial pages are laid out for (CSS pixels).
MIN_SCREEN = (800, 500)
SCREENED_OUT_MESSAGE = (
    "Thank you for your time. This study needs {needs}, and the checks before it did not "
    'confirm that. Please return the study (on Prolific: "Return submission"; on MTurk: '
    '"Return HIT") instead of submitting it. Returning does not count against you.'
)


@dataclass
class ScreeningResult:
    passed: bool
    reasons: list[str]


def screening_submit(
    *, session: Session, device: dict, responses: dict[str, int]
) -> ScreeningResult:
    """Score the screening on the server, in one transaction. A participant who fails is asked
    to return the study (never rejected); submitting again changes nothing."""
    with transaction.atomic():
        session = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
        if session.status != Session.Status.SCREENING:
            result = session.screening.get("result", {})
            return ScreeningResult(bool(result.get("passed")), result.get("reasons", []))
        items = list(session.screening_items.all())
        missing = [i.index + 1 for i in items if i.token not in responses]
        if missing:
            raise AnswerRejected(
                f"Please answer every sound (missing: {', '.join(map(str, missing))})."
            )
        for item in items:
            item.response = responses[item.token]
            item.save(update_fields=["response"])
        reasons = []
        width, height = int(device.get("width") or 0), int(device.get("height") or 0)
        if width < MIN_SCREEN[0] or height < MIN_SCREEN[1]:
            reasons.append(f"a screen of at least {MIN_SCREEN[0]}x{MIN_SCREEN[1]} pixels")
        if device.get("playback") != "ok":
            reasons.append("a browser that plays sound")
        audio = [i for i in items if i.kind == ScreeningItem.Kind.AUDIO]
        if any(i.response != i.answer for i in audio):
            reasons.append("sound at an audible volume")
        heard = sum(i.response == i.answer for i in items if i.kind == ScreeningItem.Kind.HEADPHONE)
        if heard < session.study.headphone_min_correct:
            reasons.append("headphones")
        passed = not reasons
        session.screening = {
            "device": {"width": width, "height": height, "playback": device.get("playback")},
            "headphone_correct": heard,
            "headphone_trials": session.study.headphone_trials,
            "result": {"passed": passed, "reasons": reasons},
        }
        session.status = Session.Status.ACTIVE if passed else Session.Status.SCREENED_OUT
        session.save(update_fields=["screening", "status"])
    return ScreeningResult(passed, reasons)


def _ensure_answerable(session: Session) -> None:
    if session.study.status == Study.Status.CLOSED:
        raise StudyNotOpen(study_closed_message(study=session.study))
    if session.status == Session.Status.CONSENT:
        raise StudyError("Please give your consent first.", status=409)
    if session.status == Session.Status.SCREENING:
        raise StudyError("Please finish the sound checks first.", status=409)
    if session.status == Session.Status.SCREENED_OUT:
        raise StudyError("This session ended at the sound checks.", status=409)


@transaction.atomic
def session_current_trial(*, session: Session, now: datetime | None = None) -> Trial | None:
    """The trial the participant should do now (allocating it if needed); None when done.

    Viewing a trial renews its lease, so a participant who comes back keeps their item.
    """
    now = now or timezone.now()
    _ensure_answerable(session)
    session = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
    trial = session.trials.filter(answered_at__isnull=True).order_by("index").first()
    if trial is None:
        answered = session.trials.count()
        if answered >= session.n_trials:
            _session_complete(session, now)
            return None
        # Serialise allocation per study (a row lock on PostgreSQL; SQLite's IMMEDIATE
        # transactions already serialise writers) so two arrivals never read the same loads.
        Study.objects.select_for_update().filter(pk=session.study_id).first()
        trial = allocation.allocate_trial(session=session, index=answered, now=now)
    else:
        trial.lease_expires_at = now + timedelta(minutes=session.study.lease_minutes)
        trial.save(update_fields=["lease_expires_at"])
    return trial


def _session_complete(session: Session, now: datetime) -> None:
    if session.status != Session.Status.COMPLETED:
        session.status = Session.Status.COMPLETED
        session.completed_at = now
        session.save(update_fields=["status", "completed_at"])


def _trial_of(session: Session, index: int) -> Trial:
    trial = Trial.objects.filter(session=session, index=index).first()
    if trial is None:
        raise NotFound("There is no such trial in this session.")
    return trial


# --- playback ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybackState:
    played: list[bool]

    @property
    def all_played(self) -> bool:
        return all(self.played)


def playback_state(*, trial: Trial) -> PlaybackState:
    slots = trial.slots.order_by("position")
    return PlaybackState(played=[s.played_to_end_at is not None for s in slots])


@transaction.atomic
def playback_record(
    *, session: Session, trial_index: int, position: int, kind: str, now: datetime | None = None
) -> PlaybackState:
    """Store a playback event. An `ended` marks the slot played only after a real play-through."""
    now = now or timezone.now()
    _ensure_answerable(session)
    if kind not in PlaybackEvent.Kind.values:
        raise AnswerRejected(f"Unknown playback event {kind!r}.")
    trial = _trial_of(session, trial_index)
    slot = (
        TrialSlot.objects.select_related("clip", "check_clip")
        .filter(trial=trial, position=position)
        .first()
    )
    if slot is None:
        raise AnswerRejected("That slot is not part of this trial.")
    accepted = True
    if kind == PlaybackEvent.Kind.ENDED and slot.played_to_end_at is None:
        start = (
            slot.events.filter(kind=PlaybackEvent.Kind.PLAY, at__lte=now).order_by("-at").first()
        )
        needed = timedelta(seconds=max(0.0, slot.duration_s - PLAYTHROUGH_SLACK_S))
        accepted = start is not None and now - start.at >= needed
        if accepted:
            slot.played_to_end_at = now
            slot.save(update_fields=["played_to_end_at"])
    PlaybackEvent.objects.create(slot=slot, kind=kind, at=now, accepted=accepted)
    return playback_state(trial=trial)


# --- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerResult:
    trial: Trial
    choices: dict[str, int]  # criterion key -> chosen slot position
    created: bool  # False when this repeated an answer already stored


def trial_answer(
    *,
    session: Session,
    trial_index: int,
    choices: dict[str, int],
    now: datetime | None = None,
) -> AnswerResult:
    """Store one forced choice per criterion for a trial, all in one transaction.

    Repeating the submit of an answered trial returns the stored answer and changes nothing.
    """
    now = now or timezone.now()
    _ensure_answerable(session)
    try:
        with transaction.atomic():
            trial = (
                Trial.objects.select_for_update().filter(session=session, index=trial_index).first()
            )
            if trial is None:
                raise NotFound("There is no such trial in this session.")
            if trial.answered_at is not None:
                return _stored_answer(trial)
            _store_votes(session, trial, choices, now)
    except IntegrityError:
        # A concurrent identical submit won the race; its answer is the stored one.
        return _stored_answer(Trial.objects.get(session=session, index=trial_index))
    return AnswerResult(trial=trial, choices=dict(choices), created=True)


def _store_votes(session: Session, trial: Trial, choices: dict[str, int], now: datetime) -> None:
    criteria = {c.key: c for c in session.study.criteria.all()}
    missing = [key for key in criteria if key not in choices]
    unknown = [key for key in choices if key not in criteria]
    if missing:
        raise AnswerRejected("Please answer every question (missing: " + ", ".join(missing) + ").")
    if unknown:
        raise AnswerRejected("Unknown question: " + ", ".join(unknown) + ".")
    slots = {s.position: s for s in trial.slots.all()}
    for key, position in choices.items():
        if position not in slots:
            raise AnswerRejected(f"The answer to {key!r} is not one of this trial's videos.")
    if any(s.played_to_end_at is None for s in slots.values()):
        raise AnswerRejected("Please play every video to the end before answering.", status=409)
    unlocked = max(s.played_to_end_at for s in slots.values())
    rt_ms = max(0, int((now - unlocked).total_seconds() * 1000))
    Vote.objects.bulk_create(
        Vote(trial=trial, criterion=criteria[key], slot=slots[pos], rt_ms=rt_ms, submitted_at=now)
        for key, pos in choices.items()
    )
    trial.answered_at = now
    trial.save(update_fields=["answered_at"])
    if session.trials.filter(answered_at__isnull=False).count() >= session.n_trials:
        _session_complete(session, now)


def _stored_answer(trial: Trial) -> AnswerResult:
    choices = {
        v.criterion.key: v.slot.position for v in trial.votes.select_related("criterion", "slot")
    }
    return AnswerResult(trial=trial, choices=choices, created=False)


# --- review ----------------------------------------------------------------------------------


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
