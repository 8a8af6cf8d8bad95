"""The server's listening rules: when a version (a trial's clip, a screening sound) counts as heard.

The browser reports each `play` and `ended` with its own clock (`client_ms`, milliseconds since
the epoch) and the media time. The server never trusts that account alone and never relies on
when a request happened to reach it (requests wait in the server's queue under load):

1. The play started at the beginning (media time near 0) and the version ended at its end.
2. On the participant's clock, play to end lasted at least the version's duration (minus a small
   slack), with no stall or pause in between: media played at rate 1, uninterrupted.
3. No other version of the same trial was playing meanwhile: the interval overlaps no other
   version's heard interval and no other version's play started inside it.
4. Bounded by the server's own clock: since the page was first served (no play can start before
   that), at least the sum of the durations of every version heard so far, this one included,
   has passed. Queueing only makes the server's clock read later, so an honest play-through is
   never refused because the server was busy; a script cannot claim more listening than the time
   that really passed.

A report without a client clock is judged on the server's times instead, which only ever makes
rule 3 stricter (several versions "played" at once overlap).
"""

from dataclasses import dataclass

# Slack for each version: media start-up, timer granularity, a clock that ticks slightly slow.
SLACK_S = 0.35
# A play must start this close to the beginning, an `ended` come this close to the end.
START_TOLERANCE_S = 0.5
END_TOLERANCE_S = 0.35
# Intervals on the participant's clock may touch by this much (the next play's click).
OVERLAP_TOLERANCE_MS = 150


@dataclass(frozen=True)
class Play:
    """One `play` and the `ended` that followed it, on the participant's clock."""

    start_ms: int
    end_ms: int
    start_media_time: float | None
    end_media_time: float | None
    interrupted: bool  # a stall or pause came between them


@dataclass(frozen=True)
class Verdict:
    heard: bool
    reason: str = ""


def judge(
    *,
    play: Play | None,
    duration_s: float,
    others_heard: list[tuple[int, int]],
    others_started_ms: list[int],
    heard_durations_s: list[float],
    server_elapsed_s: float,
) -> Verdict:
    """Whether `play` counts as hearing a version of `duration_s` (rules in the module doc).

    others_heard: heard intervals (ms) of the trial's other versions; others_started_ms: when
    their plays started; heard_durations_s: durations of the versions already heard;
    server_elapsed_s: the server's clock now minus when the page was first served.
    """
    if play is None:
        return Verdict(False, "no play was recorded for this version")
    if play.start_media_time is not None and play.start_media_time > START_TOLERANCE_S:
        return Verdict(False, "the version was not played from the beginning")
    if play.end_media_time is not None and play.end_media_time < duration_s - END_TOLERANCE_S:
        return Verdict(False, "the version did not play to its end")
    if play.interrupted:
        return Verdict(False, "playback stalled or was paused; play it again")
    if play.end_ms - play.start_ms < (duration_s - SLACK_S) * 1000:
        return Verdict(False, "the version ended sooner than its duration")
    lo, hi = play.start_ms + OVERLAP_TOLERANCE_MS, play.end_ms - OVERLAP_TOLERANCE_MS
    if any(a < hi and b > lo for a, b in others_heard) or any(
        lo < t < hi for t in others_started_ms
    ):
        return Verdict(False, "another version played at the same time")
    needed = sum(heard_durations_s) + duration_s
    n = len(heard_durations_s) + 1
    if server_elapsed_s < needed - SLACK_S * n:
        return Verdict(False, "less time has passed than the versions last")
    return Verdict(True)


def answer_too_soon(*, durations_s: list[float], server_elapsed_s: float) -> bool:
    """An answer before the sum of the versions' durations passed since the page was served."""
    return server_elapsed_s < sum(durations_s) - SLACK_S * len(durations_s)
