"""Reads of a trial's playback events: how long each version was audible (studies.listening)
and what the stored events count, for the listening rules (services.playback) and the
trial's telemetry (studies.telemetry)."""

from studies.models import PlaybackEvent, Trial
from studies.telemetry import clean_page_report

# Event kinds counted in a trial's telemetry, and the names they are counted under.
COUNTED = {"switch": "switches", "seek": "seeks", "pause": "pauses", "stall": "stalls",
           "mute": "mutes", "error": "errors"}  # fmt: skip


def trial_audible_ms(trial: Trial, *, shared_timeline: bool) -> dict[int, float]:
    """Audible milliseconds per slot position from the trial's events (studies.listening)."""
    from studies import listening

    rows = (
        PlaybackEvent.objects.filter(slot__trial=trial)
        .order_by("id")
        .values_list("slot__position", "kind", "client_ms", "media_time")
    )
    return listening.audible_ms(rows, shared_timeline=shared_timeline)


def trial_playback_counts(trial: Trial, *, shared_timeline: bool) -> dict:
    """What the stored events say about a trial: audible ms and heard fraction per version
    (by position), and counts of each kind of event."""
    audible = trial_audible_ms(trial, shared_timeline=shared_timeline)
    slots = list(trial.slots.select_related("clip", "check_clip").order_by("position"))
    counts = dict.fromkeys(COUNTED.values(), 0)
    for kind in PlaybackEvent.objects.filter(slot__trial=trial).values_list("kind", flat=True):
        if kind in COUNTED:
            counts[COUNTED[kind]] += 1
    fractions = [
        min(1.0, audible.get(s.position, 0.0) / (s.duration_s * 1000)) if s.duration_s else 0.0
        for s in slots
    ]
    return {
        "audible_ms": [round(audible.get(s.position, 0.0)) for s in slots],
        "heard_fraction": [round(f, 3) for f in fractions],
        **counts,
    }


def trial_telemetry(trial: Trial, *, player: str, page_report: str) -> dict:
    """The trial's `telemetry`: what the server counted from its events beside what the page
    reported (checked and reduced by studies.telemetry)."""
    return {
        "player": player,
        "server": trial_playback_counts(trial, shared_timeline=player == "switch"),
        "page": clean_page_report(page_report),
    }
