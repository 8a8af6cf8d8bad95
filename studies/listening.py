"""The server's listening rules: when a version (a trial's clip, a screening sound) counts as heard.

The browser reports each `play` and `ended` with its own clock (`client_ms`, milliseconds since
the epoch) and the media time. The server never trusts that account alone and never relies on
when a request happened to reach it (requests wait in the server's queue under load):

1. The play started at the beginning (media time near 0) and the version ended at its end.
2. On the participant's clock, play to end lasted at least the version's duration (minus a small
   slack), with no stall, pause, mute or seek in between: media played at rate 1, uninterrupted.
3. No other version of the same trial was playing meanwhile: the interval overlaps no other
   version's heard interval and no other version's play started inside it.
4. Bounded by the server's own clock: since the page was first served (no play can start before
   that), at least the sum of the durations of every version heard so far, this one included,
   has passed. Queueing only makes the server's clock read later, so an honest play-through is
   never refused because the server was busy; a script cannot claim more listening than the time
   that really passed.

A report without a client clock is judged on the server's times instead, which only ever makes
rule 3 stricter (several versions "played" at once overlap).

These are the separate player's rules (a video per version). The switching player (one video,
soundtracks switched in place) is judged by audible time instead: `audible_ms` and
`switch_heard` below.
"""

from dataclasses import dataclass

# Slack for each version: media start-up, timer granularity, a clock that ticks slightly slow.
SLACK_S = 0.35
# A play must start this close to the beginning, an `ended` come this close to the end.
START_TOLERANCE_S = 0.5
END_TOLERANCE_S = 0.35
# A seek that leaves the playhead this close to the start is a rewind, not a skip.
REWIND_TOLERANCE_S = 0.05
# Intervals on the participant's clock may touch by this much (the next play's click).
OVERLAP_TOLERANCE_MS = 150


def is_rewind(kind: str, media_time: float | None) -> bool:
    """A `seek` event that put the playhead back at the start of the version."""
    return kind == "seek" and media_time is not None and media_time <= REWIND_TOLERANCE_S


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
        return Verdict(False, "playback stalled, was paused, muted or seeked; play it again")
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


# --- Audible time, for the switching player and for every player's telemetry -------------
#
# Events in the order the page sent them: (position, kind, client_ms, media_time). A segment
# opens at a `play`, `switch` or `tick` of a version and closes at the next event that stops
# or changes what is heard; it credits the version with the media time that passed, never
# more than the participant's clock says passed (a media time that jumps ahead, a seek the
# page did not report, a clock that runs backwards credit nothing extra). Muted time credits
# nothing. With one shared timeline (the switching player: one video, every soundtrack on it)
# only one version is open at a time and any event closes it; with separate videos each
# version's events close only its own segment.
OPENERS = ("play", "switch", "tick")
STOPPERS = ("pause", "stall", "ended", "seek", "error")


def audible_ms(events, *, shared_timeline: bool) -> dict[int, float]:
    """Milliseconds each position was audible, from its events (rules above)."""
    heard: dict[int, float] = {}
    opened: dict[int, tuple] = {}  # position -> (client_ms, media_time, muted)
    muted = False

    def close(position, client_ms, media_time):
        start = opened.pop(position, None)
        if start is None or start[2] or None in (client_ms, media_time, start[0], start[1]):
            return
        credit = min((media_time - start[1]) * 1000.0, float(client_ms - start[0]))
        heard[position] = heard.get(position, 0.0) + max(0.0, credit)

    for position, kind, client_ms, media_time in events:
        if shared_timeline:
            targets = list(opened)
        else:
            targets = [position] if position in opened else []
        if kind in OPENERS or kind in STOPPERS or kind in ("mute", "unmute"):
            for p in targets:
                close(p, client_ms, media_time)
        if kind == "mute":
            muted = True
        elif kind == "unmute":
            muted = False
        if kind in OPENERS:
            opened[position] = (client_ms, media_time, muted)
        elif kind in ("mute", "unmute"):
            for p in targets:  # still playing, now (un)muted
                opened[p] = (client_ms, media_time, muted)
        elif kind == "seek" and not shared_timeline and targets:
            # A separate video reports where a seek lands and plays on from there (no `play`
            # follows a seek mid-play): the segment goes on from the new place.
            opened[position] = (client_ms, media_time, muted)
    return heard


def switch_heard(
    *,
    audible: dict[int, float],
    durations_s: dict[int, float],
    already: set[int],
    fraction: float,
    server_elapsed_s: float,
) -> set[int]:
    """Positions the switching player has now heard: audible for `fraction` of their duration
    (minus the slack), and, as rule 4 above, no more listening claimed in all than the time
    that passed on the server's clock since the page was served."""
    heard = set(already)
    claimed = sum(fraction * durations_s[p] for p in heard)
    for position in sorted(durations_s):
        if position in heard:
            continue
        needed = fraction * durations_s[position]
        if audible.get(position, 0.0) < (needed - SLACK_S) * 1000:
            continue
        if server_elapsed_s < claimed + needed - SLACK_S * (len(heard) + 1):
            continue
        heard.add(position)
        claimed += needed
    return heard
