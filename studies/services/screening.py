"""Screening writes: the study's sound pool, a session's device check, sound plays and answers.

Order and fairness: the device check (screen size) comes first and no sound is served before it;
then the volume and headphone checks, whose answers count only for sounds the server saw played
through (studies.listening). A participant who fails, or whose browser cannot play sound, is
screened out with the study's screen-out code (never rejected).

The sounds are made once per study (at launch) into a pool under random names; each session
draws its own random selection, so a consent writes no file.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from studies import listening
from studies.errors import AnswerRejected, NotFound, StudyError
from studies.models import ScreeningItem, ScreeningKind, ScreeningSound, Session, Study
from studies.storage import stamp

# Smallest screen the trial pages are laid out for (CSS pixels).
MIN_SCREEN = (800, 500)
SCREENED_OUT_MESSAGE = (
    "Thank you for your time. This study needs {needs}, and the checks did not confirm that, "
    "so it cannot go on."
)
# Pool sizes: enough that two sessions rarely share a selection.
HEADPHONE_POOL_MIN, HEADPHONE_POOL_PER_TRIAL, AUDIO_POOL = 24, 3, 8


@dataclass
class ScreeningResult:
    passed: bool
    reasons: list[str]


def _pool_wanted(study: Study) -> dict[str, int]:
    headphone = max(HEADPHONE_POOL_MIN, HEADPHONE_POOL_PER_TRIAL * study.headphone_trials)
    return {ScreeningKind.AUDIO: AUDIO_POOL, ScreeningKind.HEADPHONE: headphone}


def screening_pool_ensure(*, study: Study) -> int:
    """Make the study's screening sounds that are missing (once; at launch). Returns how many
    were made. Every sound of the pool has the same length and byte size."""
    from studies.stimuli import screening

    makers = {
        ScreeningKind.AUDIO: screening.beeps,
        ScreeningKind.HEADPHONE: screening.headphone_trial,
    }
    made = 0
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()
        for kind, wanted in _pool_wanted(study).items():
            have = ScreeningSound.objects.filter(study=study, kind=kind).count()
            for _ in range(max(0, wanted - have)):
                audio, answer = makers[kind](secrets.randbits(63))
                sound = ScreeningSound(
                    study=study,
                    kind=kind,
                    answer=answer,
                    duration_s=len(audio) / screening.RATE,
                )
                sound.media.save("sound.wav", ContentFile(screening.wav_bytes(audio)), save=False)
                sound.save()
                stamp([sound.media])
                made += 1
    return made


def screening_prepare(*, session: Session) -> None:
    """Give the session its sounds: one volume check and the study's number of headphone
    trials, drawn at random from the pool (made now if the study was launched without one)."""
    study = session.study
    screening_pool_ensure(study=study)
    rng = random.Random(secrets.randbits(64))
    plan = rng.sample(list(study.screening_sounds.filter(kind=ScreeningKind.AUDIO)), 1)
    headphone = list(study.screening_sounds.filter(kind=ScreeningKind.HEADPHONE))
    plan += rng.sample(headphone, min(study.headphone_trials, len(headphone)))
    ScreeningItem.objects.bulk_create(
        ScreeningItem(session=session, kind=sound.kind, index=i, sound=sound, answer=sound.answer)
        for i, sound in enumerate(plan)
    )


def _locked(session: Session) -> Session:
    return Session.objects.select_for_update().select_related("study").get(pk=session.pk)


def _screen_out(session: Session, reasons: list[str], **extra) -> ScreeningResult:
    session.screening = {
        **session.screening,
        **extra,
        "result": {"passed": False, "reasons": reasons},
    }
    session.status = Session.Status.SCREENED_OUT
    session.save(update_fields=["screening", "status"])
    return ScreeningResult(False, reasons)


def _settled(session: Session) -> ScreeningResult | None:
    if session.status == Session.Status.SCREENING:
        return None
    result = session.screening.get("result", {})
    return ScreeningResult(bool(result.get("passed", True)), result.get("reasons", []))


def screening_device_done(session: Session) -> bool:
    return "device" in session.screening


def screening_device_submit(
    *, session: Session, width: int, height: int, now: datetime | None = None
) -> ScreeningResult:
    """The device check, before any sound: a screen large enough for the trial pages."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked(session)
        settled = _settled(session)
        if settled is not None:
            return settled
        if screening_device_done(session):
            return ScreeningResult(True, [])
        device = {"width": width, "height": height, "at": now.isoformat()}
        if width < MIN_SCREEN[0] or height < MIN_SCREEN[1]:
            reason = (
                f"a desktop or laptop screen of at least {MIN_SCREEN[0]}x{MIN_SCREEN[1]} pixels"
            )
            return _screen_out(session, [reason], device=device)
        session.screening = {**session.screening, "device": device}
        session.save(update_fields=["screening"])
    return ScreeningResult(True, [])


def screening_playback_record(
    *,
    session: Session,
    item_token: str,
    kind: str,
    client_ms: int | None = None,
    media_time: float | None = None,
    now: datetime | None = None,
) -> bool:
    """A `play`, `pause` or `ended` of one screening sound; returns whether it is now heard."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _locked(session)
        if session.status != Session.Status.SCREENING or not screening_device_done(session):
            raise StudyError("The sound checks are not open.", status=409)
        items = list(session.screening_items.select_related("sound"))
        item = next((i for i in items if i.token == item_token), None)
        if item is None:
            raise NotFound("No such sound.")
        if item.played_to_end_at is not None:
            return True
        at_ms = client_ms if client_ms is not None else int(now.timestamp() * 1000)
        if kind == "play":
            item.last_play_ms, item.last_play_at = at_ms, now
            item.save(update_fields=["last_play_ms", "last_play_at"])
            return False
        if kind == "pause":
            if media_time is None or media_time < item.duration_s - listening.END_TOLERANCE_S:
                item.last_play_ms = item.last_play_at = None
                item.save(update_fields=["last_play_ms", "last_play_at"])
            return False
        if kind != "ended":
            raise AnswerRejected(f"Unknown playback event {kind!r}.")
        play = None
        if item.last_play_ms is not None:
            play = listening.Play(item.last_play_ms, at_ms, 0.0, media_time, False)
        others = [i for i in items if i.pk != item.pk]
        heard = [i for i in others if i.played_to_end_at is not None]
        anchor = datetime.fromisoformat(session.screening["device"]["at"])
        verdict = listening.judge(
            play=play,
            duration_s=item.duration_s,
            others_heard=[(i.heard_from_ms, i.heard_to_ms) for i in heard if i.heard_from_ms],
            others_started_ms=[i.last_play_ms for i in others if i.last_play_ms is not None],
            heard_durations_s=[i.duration_s for i in heard],
            server_elapsed_s=(now - anchor).total_seconds(),
        )
        if verdict.heard:
            item.played_to_end_at, item.heard_from_ms, item.heard_to_ms = now, play.start_ms, at_ms
            item.save(update_fields=["played_to_end_at", "heard_from_ms", "heard_to_ms"])
        return verdict.heard


MAX_LATENCY_ATTEMPTS = 5


def screening_latency_record(*, session: Session, report: dict) -> dict:
    """One run of the latency check (studies.latency): the estimate is stored on the session
    (the latest run counts; a rater may redo it, e.g. after changing headphones). Returns
    {"delay_ms", "too_late"}; LatencyError says why a run gives no estimate."""
    from studies import latency

    with transaction.atomic():
        session = _locked(session)
        study = session.study
        if session.status != Session.Status.SCREENING or not screening_device_done(session):
            raise StudyError("The sound checks are not open.", status=409)
        if not study.latency_check:
            raise NotFound("This study has no sound delay check.")
        runs = session.screening.get("latency_runs", 0)
        if runs >= MAX_LATENCY_ATTEMPTS:
            raise AnswerRejected("The sound delay check was done too many times.", status=429)
        session.screening = {**session.screening, "latency_runs": runs + 1}
        try:
            result = latency.estimate(**report)
        except latency.LatencyError as exc:
            failure = exc  # the run counts; raised once it is stored
            session.save(update_fields=["screening"])
        else:
            failure = None
            session.screening["latency"] = result.as_dict()
            session.av_delay_ms = result.delay_ms
            session.save(update_fields=["screening", "av_delay_ms"])
    if failure is not None:
        raise failure
    limit = study.max_av_delay_ms
    return {"delay_ms": round(result.delay_ms), "too_late": bool(limit and result.delay_ms > limit)}


def screening_submit(
    *, session: Session, responses: dict[str, int], cannot_play: bool = False
) -> ScreeningResult:
    """Score the screening on the server, in one transaction. Answers count only for sounds
    heard to the end; a participant who fails (or whose browser plays no sound) is screened out
    with the study's screen-out code. Submitting again changes nothing."""
    with transaction.atomic():
        session = _locked(session)
        settled = _settled(session)
        if settled is not None:
            return settled
        if not screening_device_done(session):
            raise AnswerRejected("Please do the screen check first.", status=409)
        if cannot_play:
            return _screen_out(session, ["a browser and device that play sound"])
        study = session.study
        if study.latency_check and "latency" not in session.screening:
            raise AnswerRejected("Please do the sound delay check (part 3) first.", status=409)
        items = list(session.screening_items.select_related("sound"))
        missing = [i.index + 1 for i in items if i.token not in responses]
        if missing:
            raise AnswerRejected(
                f"Please answer every sound (missing: {', '.join(map(str, missing))})."
            )
        unheard = [i.index + 1 for i in items if i.played_to_end_at is None]
        if unheard:
            raise AnswerRejected(
                "Please play each sound to the end before answering (not yet played through: "
                f"{', '.join(map(str, unheard))}).",
                status=409,
            )
        for item in items:
            item.response = responses[item.token]
            item.save(update_fields=["response"])
        reasons = []
        if any(i.response != i.answer for i in items if i.kind == ScreeningKind.AUDIO):
            reasons.append("sound at an audible volume")
        heard = sum(i.response == i.answer for i in items if i.kind == ScreeningKind.HEADPHONE)
        if heard < session.study.headphone_min_correct:
            reasons.append("headphones")
        limit = study.max_av_delay_ms
        if study.latency_check and study.latency_screen_out and limit:
            if session.av_delay_ms is not None and session.av_delay_ms > limit:
                reasons.append(
                    "headphones or speakers without a long sound delay (wired, not Bluetooth)"
                )
        scores = {"headphone_correct": heard, "headphone_trials": session.study.headphone_trials}
        if reasons:
            return _screen_out(session, reasons, **scores)
        session.screening = {
            **session.screening,
            **scores,
            "result": {"passed": True, "reasons": []},
        }
        session.status = Session.Status.ACTIVE
        session.save(update_fields=["screening", "status"])
    return ScreeningResult(True, [])
