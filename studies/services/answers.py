"""Writes about answers: a trial's votes as the study's design parses them, stored whole or
not at all, and a repeated submit returns what was stored the first time."""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from studies.designs import design_of
from studies.errors import AnswerRejected, NotFound
from studies.models import (
    Session,
    Trial,
    Vote,
)
from studies.selectors.playback import trial_telemetry
from studies.services._common import (
    ensure_answerable,
    session_complete,
    trial_anchor,
    trials_done,
)


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
    telemetry: str = "",
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
            _store_votes(session, trial, choices, now, telemetry)
    except IntegrityError:
        # A concurrent identical submit won the race; its answer is the stored one.
        return _stored_answer(Trial.objects.get(session=session, index=trial_index))
    return AnswerResult(trial=trial, choices=dict(choices), created=True)


def _store_votes(
    session: Session, trial: Trial, answer: dict, now: datetime, telemetry: str
) -> None:
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
    trial.telemetry = trial_telemetry(trial, player=study.player, page_report=telemetry)
    for slot, ms in zip(
        sorted(slots.values(), key=lambda s: s.position),
        trial.telemetry["server"]["audible_ms"],
        strict=True,
    ):
        if slot.heard_ms != ms:
            slot.heard_ms = ms
            slot.save(update_fields=["heard_ms"])
    trial.answered_at = now
    trial.save(update_fields=["answered_at", "telemetry"])
    if trials_done(session) >= session.n_trials:
        session_complete(session, now)


def _stored_answer(trial: Trial) -> AnswerResult:
    votes = trial.votes.select_related("criterion", "slot")
    choices = design_of(trial.session.study).stored(votes)
    return AnswerResult(trial=trial, choices=choices, created=False)
