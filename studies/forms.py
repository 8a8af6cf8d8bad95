"""Forms only clean and convert participant input; they decide nothing."""

import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django import forms

from studies.models import SLOT_LABELS, Participant, PlaybackEvent

_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
MTURK_PREVIEW_ASSIGNMENT = "ASSIGNMENT_ID_NOT_AVAILABLE"
# Where MTurk may send the worker's browser back to; anything else is refused (no open redirect).
MTURK_SUBMIT_HOSTS = {"www.mturk.com", "workersandbox.mturk.com"}


class InputError(ValueError):
    pass


@dataclass(frozen=True)
class Arrival:
    """Who arrived, read from the recruiter's URL parameters."""

    source: str | None  # None: no identity yet (show the code form)
    external_id: str = ""
    recruiter_data: dict | None = None
    preview: bool = False  # MTurk preview: instructions only


def _clean_id(name: str, value: str) -> str:
    if not _ID.match(value):
        raise InputError(
            f"The link's {name} is not valid (expected 1-64 letters, digits, '_' or '-')."
        )
    return value


def parse_arrival(params) -> Arrival:
    """Prolific (PROLIFIC_PID...), MTurk ExternalQuestion (workerId...), or a local code."""
    if "PROLIFIC_PID" in params:
        data = {"PROLIFIC_PID": _clean_id("PROLIFIC_PID", params["PROLIFIC_PID"])}
        for name in ("STUDY_ID", "SESSION_ID"):
            if params.get(name):
                data[name] = _clean_id(name, params[name])
        return Arrival(Participant.Source.PROLIFIC, data["PROLIFIC_PID"], data)
    if "assignmentId" in params:
        assignment = params["assignmentId"]
        if assignment == MTURK_PREVIEW_ASSIGNMENT:
            return Arrival(Participant.Source.MTURK, preview=True)
        missing = [n for n in ("workerId", "hitId", "turkSubmitTo") if not params.get(n)]
        if missing:
            raise InputError("The MTurk link is missing " + ", ".join(missing) + ".")
        submit_to = params["turkSubmitTo"].rstrip("/")
        parts = urlsplit(submit_to)
        if parts.scheme != "https" or parts.hostname not in MTURK_SUBMIT_HOSTS or parts.path:
            raise InputError("The MTurk link's turkSubmitTo is not an MTurk address.")
        data = {
            "assignmentId": _clean_id("assignmentId", assignment),
            "workerId": _clean_id("workerId", params["workerId"]),
            "hitId": _clean_id("hitId", params["hitId"]),
            "turkSubmitTo": submit_to,
        }
        return Arrival(Participant.Source.MTURK, data["workerId"], data)
    if "code" in params:
        code = _clean_id("participant code", params["code"].strip())
        return Arrival(Participant.Source.LOCAL, code, {})
    return Arrival(None)


class _ClientReport(forms.Form):
    """The page's own account of an event: its clock (ms since the epoch) and the media time."""

    client_ms = forms.IntegerField(required=False, min_value=0, max_value=10**14)
    media_time = forms.FloatField(required=False, min_value=0, max_value=86_400)

    def clean_media_time(self):
        value = self.cleaned_data["media_time"]
        if value is not None and value != value:  # NaN
            raise forms.ValidationError("not a number")
        return value


class PlaybackEventForm(_ClientReport):
    slot = forms.ChoiceField(choices=[(label, label) for label in SLOT_LABELS])
    kind = forms.ChoiceField(choices=PlaybackEvent.Kind.choices)

    def cleaned_position(self) -> int:
        return SLOT_LABELS.index(self.cleaned_data["slot"])


class ScreeningEventForm(_ClientReport):
    kind = forms.ChoiceField(choices=[(k, k) for k in ("play", "pause", "ended")])


class DeviceForm(forms.Form):
    width = forms.IntegerField(min_value=0, max_value=100_000)
    height = forms.IntegerField(min_value=0, max_value=100_000)


LATENCY_FIELDS = ("flashes", "visual_taps", "beeps", "audio_taps")


def parse_latency_report(post) -> dict[str, list[float]]:
    """The latency check's times (comma-separated ms on the page's clock); errors name the
    field."""
    report = {}
    for name in LATENCY_FIELDS:
        text = post.get(name, "").strip()
        try:
            values = [float(v) for v in text.split(",")] if text else []
        except ValueError:
            raise InputError(f"The latency check's {name!r} must be numbers.") from None
        if len(values) > 80 or not all(math.isfinite(v) for v in values):
            raise InputError(f"The latency check's {name!r} is not readable.")
        report[name] = values
    return report


_SCREEN_TOKEN = re.compile(r"^r-([A-Za-z0-9_\-]{8,64})$")


def parse_screening(post) -> dict[str, int]:
    """{item token: answer} from the screening form; errors name the field."""
    responses = {}
    for name, value in post.items():
        match = _SCREEN_TOKEN.match(name)
        if match:
            if not value.isdigit() or not 1 <= int(value) <= 9:
                raise InputError("An answer must be a whole number from 1 to 9.")
            responses[match.group(1)] = int(value)
    return responses
