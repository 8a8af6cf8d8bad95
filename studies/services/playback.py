"""Playback writes: events from the trial page, judged by the server's listening rules
(studies.listening), and skipping a trial whose video will not load."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from studies.errors import AnswerRejected, NotFound
from studies.models import PlaybackEvent, Session, Trial, TrialSlot
from studies.selectors.playback import trial_audible_ms
from studies.services._common import (
    ensure_answerable,
    session_complete,
    trial_anchor,
    trials_done,
)

# Load failures (the page retries) a trial must have reported before it can be skipped.
SKIP_AFTER_FAILURES = 2
# Events one trial may record: a rater switching every second for ten minutes sends ~600; a
# script flooding the endpoint is refused beyond this.
MAX_EVENTS_PER_TRIAL = 3000


@dataclass(frozen=True)
class PlaybackState:
    played: list[bool]
    reason: str = ""  # why the last `ended` was not accepted, for the page to show

    @property
    def all_played(self) -> bool:
        return all(self.played)


def playback_state(*, trial: Trial, reason: str = "") -> PlaybackState:
    slots = trial.slots.order_by("position")
    return PlaybackState(played=[s.played_to_end_at is not None for s in slots], reason=reason)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@transaction.atomic
def playback_record(
    *,
    session: Session,
    trial_index: int,
    position: int,
    kind: str,
    client_ms: int | None = None,
    media_time: float | None = None,
    now: datetime | None = None,
) -> PlaybackState:
    """Store a playback event; an `ended` marks the version heard only if the listening rules
    (studies.listening) accept the play-through it closes."""
    now = now or timezone.now()
    ensure_answerable(session)
    if kind not in PlaybackEvent.Kind.values:
        raise AnswerRejected(f"Unknown playback event {kind!r}.")
    trial = Trial.objects.select_for_update().filter(session=session, index=trial_index).first()
    if trial is None:
        raise NotFound("There is no such trial in this session.")
    slot = (
        TrialSlot.objects.select_related("clip", "check_clip")
        .filter(trial=trial, position=position)
        .first()
    )
    if slot is None:
        raise AnswerRejected("That slot is not part of this trial.")
    if PlaybackEvent.objects.filter(slot__trial=trial).count() >= MAX_EVENTS_PER_TRIAL:
        raise AnswerRejected("Too many playback events for one trial.", status=429)
    event = PlaybackEvent(
        slot=slot, kind=kind, at=now, client_ms=client_ms, media_time=media_time, accepted=True
    )
    reason = ""
    if session.study.player == "switch":
        event.save()
        _judge_switching(trial, now)
        return playback_state(trial=trial)
    if kind == PlaybackEvent.Kind.ENDED and slot.played_to_end_at is None:
        verdict, interval = _judge_ended(trial, slot, event, now)
        event.accepted, event.reason = verdict.heard, verdict.reason
        reason = verdict.reason
        if verdict.heard:
            slot.played_to_end_at = now
            slot.heard_from_ms, slot.heard_to_ms = interval
            slot.save(update_fields=["played_to_end_at", "heard_from_ms", "heard_to_ms"])
    event.save()
    return playback_state(trial=trial, reason=reason)


def _judge_switching(trial: Trial, now: datetime) -> None:
    """The switching player's rule: a version is heard once it was audible long enough in
    total (studies.listening.switch_heard); every slot's audible time is kept up to date."""
    from studies import listening

    slots = list(trial.slots.select_related("clip", "check_clip"))
    audible = trial_audible_ms(trial, shared_timeline=True)
    heard = listening.switch_heard(
        audible=audible,
        durations_s={s.position: s.duration_s for s in slots},
        already={s.position for s in slots if s.played_to_end_at is not None},
        fraction=trial.session.study.switch_heard_fraction,
        server_elapsed_s=(now - trial_anchor(trial)).total_seconds(),
    )
    for slot in slots:
        fields = []
        ms = int(min(audible.get(slot.position, 0.0), 2**31 - 1))
        if ms != slot.heard_ms:
            slot.heard_ms, fields = ms, ["heard_ms"]
        if slot.position in heard and slot.played_to_end_at is None:
            slot.played_to_end_at = now
            fields.append("played_to_end_at")
        if fields:
            slot.save(update_fields=fields)


def _judge_ended(trial: Trial, slot: TrialSlot, ended: PlaybackEvent, now: datetime):
    from studies import listening

    def ms(event: PlaybackEvent) -> int:
        return event.client_ms if event.client_ms is not None else _epoch_ms(event.at)

    duration = slot.duration_s
    start = slot.events.filter(kind=PlaybackEvent.Kind.PLAY).order_by("-id").first()
    play = None
    if start is not None:
        between = slot.events.filter(
            id__gt=start.id,
            kind__in=[
                PlaybackEvent.Kind.STALL,
                PlaybackEvent.Kind.PAUSE,
                PlaybackEvent.Kind.MUTE,
                PlaybackEvent.Kind.SEEK,
            ],
        )
        # A seek back to the very start (the page's own rewind before play(), which WebKit
        # and Firefox report after `playing`; or a rater starting over) skips nothing: the
        # play-through is measured from there, and only what follows it can interrupt it.
        between = list(between.order_by("id"))
        for k in range(len(between) - 1, -1, -1):
            if listening.is_rewind(between[k].kind, between[k].media_time):
                start, between = between[k], between[k + 1 :]
                break
        # Browsers fire `pause` just before `ended` at the end of the media: that one is fine.
        # Muting or seeking elsewhere (the browser's own controls) interrupts the play-through.
        interrupted = any(
            e.kind in (PlaybackEvent.Kind.STALL, PlaybackEvent.Kind.MUTE, PlaybackEvent.Kind.SEEK)
            or e.media_time is None
            or e.media_time < duration - listening.END_TOLERANCE_S
            for e in between
        )
        play = listening.Play(ms(start), ms(ended), start.media_time, ended.media_time, interrupted)
    others = list(
        TrialSlot.objects.filter(trial=trial)
        .exclude(pk=slot.pk)
        .select_related("clip", "check_clip")
    )
    heard = [o for o in others if o.played_to_end_at is not None]
    started = PlaybackEvent.objects.filter(slot__in=others, kind=PlaybackEvent.Kind.PLAY).only(
        "client_ms", "at"
    )
    verdict = listening.judge(
        play=play,
        duration_s=duration,
        others_heard=[(o.heard_from_ms, o.heard_to_ms) for o in heard if o.heard_from_ms],
        others_started_ms=[ms(e) for e in started],
        heard_durations_s=[o.duration_s for o in heard],
        server_elapsed_s=(now - trial_anchor(trial)).total_seconds(),
    )
    return verdict, ((play.start_ms, play.end_ms) if play else (None, None))


@transaction.atomic
def trial_skip(*, session: Session, trial_index: int, now: datetime | None = None) -> Session:
    """Skip a trial whose video would not load: it becomes unusable (no votes, no penalty) and
    its item goes back to allocation. Allowed only after the page reported load failures. More
    skips than the study allows end the session with the screen-out code (a connection that
    cannot play the videos is not the participant's fault, but their data cannot be used)."""
    now = now or timezone.now()
    ensure_answerable(session)
    session = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
    trial = Trial.objects.filter(session=session, index=trial_index).first()
    if trial is None:
        raise NotFound("There is no such trial in this session.")
    if trial.answered_at is not None or trial.skipped_at is not None:
        return session
    failures = PlaybackEvent.objects.filter(slot__trial=trial, kind=PlaybackEvent.Kind.ERROR)
    if failures.count() < SKIP_AFTER_FAILURES:
        raise AnswerRejected(
            "A trial can only be skipped when one of its videos failed to load.", status=409
        )
    trial.skipped_at = now
    trial.save(update_fields=["skipped_at"])
    skipped = session.trials.filter(skipped_at__isnull=False).count()
    if skipped > session.study.max_skipped_trials:
        session.status = Session.Status.SCREENED_OUT
        session.screening = {
            **session.screening,
            "result": {"passed": False, "reasons": ["a connection that loads the videos"]},
            "ended_at_trial": trial_index,
        }
        session.save(update_fields=["status", "screening"])
    elif trials_done(session) >= session.n_trials:
        session_complete(session, now)
    return session
