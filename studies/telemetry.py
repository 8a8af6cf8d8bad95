"""Playback telemetry: per trial, what was heard and how the page was used, as quality evidence.

Two sources, kept apart in `Trial.telemetry`:
- "server": counted from the playback events the server stored (studies.listening's audible
  time per version, switches, seeks, pauses, stalls, mutes). The page cannot make these
  larger than the events it really sent.
- "page": what only the page can measure, sent with the answer (`_telemetry`, JSON): time
  the tab was hidden, full-screen exits, playback-rate and volume tampering, stall time, and
  for the switching player the audio-video offset and switching gap of every switch. Checked
  and reduced here (medians and 95th percentiles); a malformed report is recorded as such and
  never costs the rater their answer.

Nothing in it names a system: versions are slot positions. This module is pure (no database):
studies.selectors.playback counts the stored events and puts the two together, `row()`
flattens a trial's telemetry into the votes CSV's columns (TELEMETRY in studies.analysis.votes).
"""

import json
import math

import numpy as np

MAX_REPORT_BYTES = 8_000
MAX_SAMPLES = 200  # the page keeps the first 200 of each
_COUNTS = ("fullscreen_exits", "rate_changes", "volume_changes", "hidden_count", "resyncs")
_DURATIONS = ("hidden_ms", "stall_ms", "output_latency_ms", "compensation_ms")
_SAMPLES = ("sync_offsets_ms", "switch_gaps_ms")


def _number(value, name: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return float(value)


def clean_page_report(raw: str) -> dict:
    """The page's report, checked and reduced; {"invalid": why} when it is not acceptable."""
    if not raw:
        return {"invalid": "no report"}
    if len(raw) > MAX_REPORT_BYTES:
        return {"invalid": f"report longer than {MAX_REPORT_BYTES} bytes"}
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        unknown = sorted(set(data) - set(_COUNTS + _DURATIONS + _SAMPLES))
        if unknown:
            raise ValueError(f"unknown keys {', '.join(unknown)}")
        out: dict = {}
        for key in _COUNTS:
            if key in data:
                out[key] = int(_number(data[key], key, low=0, high=1e6))
        for key in _DURATIONS:
            if key in data:
                out[key] = round(_number(data[key], key, low=-1e4, high=1e8), 1)
        for key in _SAMPLES:
            values = data.get(key, [])
            if not isinstance(values, list) or len(values) > MAX_SAMPLES:
                raise ValueError(f"{key} must be a list of at most {MAX_SAMPLES} numbers")
            numbers = [_number(v, key, low=-1e5, high=1e5) for v in values]
            stem = key.removesuffix("s_ms")
            out[f"{stem}_n"] = len(numbers)
            if numbers:
                absolute = np.abs(np.array(numbers))
                out[f"{stem}_p50_ms"] = round(float(np.percentile(absolute, 50)), 2)
                out[f"{stem}_p95_ms"] = round(float(np.percentile(absolute, 95)), 2)
                out[f"{stem}_max_ms"] = round(float(absolute.max()), 2)
    except (ValueError, TypeError) as exc:
        return {"invalid": str(exc)[:200]}
    return out


def row(telemetry: dict, *, av_delay_ms: float | None) -> dict:
    """The telemetry columns of one trial's votes rows ('' where nothing was measured)."""
    server = telemetry.get("server", {})
    page = telemetry.get("page", {})
    fractions = server.get("heard_fraction", [])

    def text(value):
        return "" if value is None else (str(value) if isinstance(value, int) else f"{value:g}")

    hidden, stall = page.get("hidden_ms"), page.get("stall_ms")
    return {
        "player": telemetry.get("player", ""),
        "heard_min_fraction": text(min(fractions)) if fractions else "",
        "switches": text(server.get("switches")),
        "seeks": text(server.get("seeks")),
        "pauses": text(server.get("pauses")),
        "stalls": text(server.get("stalls")),
        "mutes": text(server.get("mutes")),
        "hidden_s": text(None if hidden is None else round(hidden / 1000, 2)),
        "stall_s": text(None if stall is None else round(stall / 1000, 2)),
        "volume_changes": text(page.get("volume_changes")),
        "fullscreen_exits": text(page.get("fullscreen_exits")),
        "rate_changes": text(page.get("rate_changes")),
        "sync_offset_p95_ms": text(page.get("sync_offset_p95_ms")),
        "switch_gap_p95_ms": text(page.get("switch_gap_p95_ms")),
        "av_delay_ms": text(None if av_delay_ms is None else round(av_delay_ms, 1)),
    }
