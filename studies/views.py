"""Participant pages. Thin: parse input, call a service or selector, render.

What these send to the browser names no system, clip or check answer: slots are letters, media
come through per-session opaque tokens, trial numbers are the session's own indices.
"""

import secrets
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.files.storage import default_storage
from django.db.models import FileField
from django.db.models.fields.files import FieldFile
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studies import arrivals, media, selectors, services, storage
from studies.designs import design_of
from studies.errors import StudyError
from studies.forms import (
    DeviceForm,
    InputError,
    PlaybackEventForm,
    ScreeningEventForm,
    parse_arrival,
    parse_latency_report,
    parse_screening,
)
from studies.models import Participant, ScreeningItem, Session, Study
from studies.services.screening import screening_device_done

PROLIFIC_COMPLETE_URL = "https://app.prolific.com/submissions/complete"
LOCAL_ARRIVALS_REFUSED = (
    "This study is open only through its recruiter (for example Prolific). Please use the link "
    "the recruiter gave you."
)


def limit_body(view):
    """Refuse participant request bodies larger than PARTICIPANT_MAX_BODY_BYTES (413)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _message(request, "Bad request: invalid Content-Length.", status=400)
        if length > settings.PARTICIPANT_MAX_BODY_BYTES:
            return _message(request, "Request too large.", status=413)
        return view(request, *args, **kwargs)

    return wrapper


def frameable(view):
    """Let the sites in PARTICIPANT_FRAME_ANCESTORS (MTurk) show this page in an iframe."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if settings.PARTICIPANT_FRAME_ANCESTORS:
            response.xframe_options_exempt = True
            response["Content-Security-Policy"] = (
                f"frame-ancestors 'self' {settings.PARTICIPANT_FRAME_ANCESTORS}"
            )
        return response

    return wrapper


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _message(request: HttpRequest, text: str, *, status: int = 200, back: str = "") -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": text}, status=status)
    return render(request, "studies/message.html", {"text": text, "back": back}, status=status)


def _study_or_404(slug: str) -> Study:
    study = selectors.open_study_by_slug(slug=slug)
    if study is None:
        raise Http404("No such study.")
    return study


class NotThisBrowser(Exception):
    """The session URL was opened in a browser that did not start the session."""


NOT_THIS_BROWSER = (
    "This session was started in another browser. Please go on in the browser (and on the "
    "device) where you started it. If that is not possible, contact the researcher. If your "
    "browser blocks cookies, allow them for this site and open the study link again."
)


def _session_or_404(request: HttpRequest, slug: str, token: str) -> Session:
    """The session and its study in one query (every participant request starts here)."""
    session = selectors.session_by_slug_and_token(slug=slug, token=token)
    if session is None:
        raise Http404("No such session.")
    if not arrivals.browser_owns(request, session):
        raise NotThisBrowser()
    return session


def participant_view(view):
    """Participant pages: a session URL opened in another browser gets a clear 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotThisBrowser:
            return _message(request, NOT_THIS_BROWSER, status=403)

    return wrapper


def _session_url(session: Session) -> str:
    return reverse("studies:session", args=[session.study.slug, session.token])


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """`/`: what this site is, for someone who typed its address; it names no study."""
    return render(request, "studies/home.html")


@frameable
@require_http_methods(["GET", "POST"])
@limit_body
def arrive(request: HttpRequest, slug: str) -> HttpResponse:
    """`/s/<slug>/`: identify the participant from the recruiter's URL parameters."""
    study = _study_or_404(slug)
    local_refused = _message(request, LOCAL_ARRIVALS_REFUSED, status=403)
    if request.method == "POST":  # "start" on the code page: a fresh local participant
        if not study.accept_local_arrivals:
            return local_refused
        code = secrets.token_hex(4).upper()
        return redirect(f"{request.path}?{urlencode({'code': code})}")
    try:
        arrival = parse_arrival(request.GET)
    except InputError as exc:
        return _message(request, str(exc), status=400)
    if arrival.preview:
        return render(request, "studies/preview.html", {"study": study})
    local = arrival.source in (None, Participant.Source.LOCAL)
    if local and not study.accept_local_arrivals:
        return local_refused
    if arrival.source is None:
        if study.status != Study.Status.LIVE:
            return _message(request, selectors.study_closed_message(study=study), status=409)
        return render(request, "studies/arrive.html", {"study": study})
    existing = selectors.session_of(
        study=study, source=arrival.source, external_id=arrival.external_id
    )
    client = arrivals.client_hash(request)
    if existing is None and study.status == Study.Status.LIVE:
        limited = arrivals.arrival_limit_reached(study=study, client=client, now=timezone.now())
        if limited:
            response = _message(request, limited, status=429)
            response["Retry-After"] = "60"
            return response
    if existing is not None and existing.status != Session.Status.CONSENT:
        # Work has begun: only the browser that did it may go on (the identity is in the URL).
        if not arrivals.browser_owns(request, existing):
            return _message(request, NOT_THIS_BROWSER, status=403)
    try:
        session = services.session_start(
            study=study,
            source=arrival.source,
            external_id=arrival.external_id,
            recruiter_data=arrival.recruiter_data,
            user_agent=request.headers.get("User-Agent", "").replace("\x00", ""),
            client_hash=client,
        )
    except StudyError as exc:
        return _message(request, exc.message, status=exc.status)
    response = redirect(_session_url(session))
    arrivals.browser_bind(response, session)
    return response


ABANDONED_MESSAGE = (
    "This session has ended: the study was returned or timed out on the recruiting platform. "
    "Thank you for your time."
)


@frameable
@participant_view
@require_GET
def session_page(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The one page a session lives on: consent, the current trial, or completion."""
    session = _session_or_404(request, slug, token)
    study = session.study
    if session.status == Session.Status.COMPLETED:
        return _completion(request, session)
    if session.status == Session.Status.ABANDONED:
        return _message(request, ABANDONED_MESSAGE, status=410)
    if session.status == Session.Status.CONSENT:
        if study.status == Study.Status.CLOSED:
            return _message(request, selectors.study_closed_message(study=study), status=409)
        context = {
            "study": study,
            "session": session,
            "minutes": selectors.session_estimated_minutes(session=session),
            "min_screen": services.MIN_SCREEN,
        }
        return render(request, "studies/consent.html", context)
    if session.status == Session.Status.SCREENED_OUT:
        return _screened_out(request, session)
    if session.status == Session.Status.SCREENING:
        return _screening_page(request, session)
    try:
        trial = services.session_current_trial(session=session)
    except StudyError as exc:
        return _message(request, exc.message, status=exc.status)
    if trial is None:
        session.refresh_from_db()
        if session.status == Session.Status.SCREENED_OUT:
            return _screened_out(request, session)
        return _completion(request, session)
    slots = list(selectors.trial_slots(trial=trial))
    base = _session_url(session)
    design = design_of(study)
    criteria = list(study.criteria.all())
    context = {
        "study": study,
        "session": session,
        "trial": trial,
        "number": trial.index + 1,
        "slots": [
            {
                "label": slot.label,
                "position": slot.position,
                "src": f"{base}m/{slot.token}",
                "played": slot.played_to_end_at is not None,
                "duration": slot.duration_s,
            }
            for slot in slots
        ],
        "compensation_ms": (session.av_delay_ms or 0.0 if study.latency_compensate else 0.0),
        "criteria": criteria,
        "design": design,
        "event_url": f"{base}t/{trial.index}/event",
        "answer_url": f"{base}t/{trial.index}/answer",
        "skip_url": f"{base}t/{trial.index}/skip",
    }
    context.update(design.answer_context(study=study, criteria=criteria, slots=context["slots"]))
    return render(request, "studies/trial.html", context)


def _screening_page(request: HttpRequest, session: Session) -> HttpResponse:
    base = _session_url(session)
    if not screening_device_done(session):
        # The device check comes first; this page carries no sound.
        context = {
            "study": session.study,
            "session": session,
            "device_url": f"{base}screen/device",
            "min_screen": services.MIN_SCREEN,
        }
        return render(request, "studies/screening_device.html", context)
    items = [
        {
            "kind": item.kind,
            "number": n,
            "src": f"{base}a/{item.token}",
            "event_url": f"{base}a/{item.token}/event",
            "name": f"r-{item.token}",
            "heard": item.played_to_end_at is not None,
        }
        for n, item in enumerate(session.screening_items.order_by("index"), start=1)
    ]
    context = {
        "study": session.study,
        "session": session,
        "audio_items": [i for i in items if i["kind"] == ScreeningItem.Kind.AUDIO],
        "headphone_items": [i for i in items if i["kind"] == ScreeningItem.Kind.HEADPHONE],
        "submit_url": f"{base}screen",
        "latency_url": f"{base}screen/latency",
        "latency_done": "latency" in session.screening,
    }
    return render(request, "studies/screening.html", context)


def _screened_out(request: HttpRequest, session: Session) -> HttpResponse:
    """The screen-out page: the study's screen-out code, and how to use it on the platform."""
    reasons = session.screening.get("result", {}).get("reasons", [])
    needs = " and ".join(reasons) or "a working sound setup"
    study = session.study
    context = {
        "study": study,
        "text": services.SCREENED_OUT_MESSAGE.format(needs=needs),
        "source": session.participant.source,
        "code": study.screenout_code,
    }
    if session.participant.source == Participant.Source.PROLIFIC:
        context["prolific_url"] = (
            f"{PROLIFIC_COMPLETE_URL}?{urlencode({'cc': study.screenout_code})}"
        )
    return render(request, "studies/screened_out.html", context)


def _completion(request: HttpRequest, session: Session) -> HttpResponse:
    participant = session.participant
    context = {"study": session.study, "session": session, "code": session.completion_code}
    if participant.source == Participant.Source.PROLIFIC:
        context["code"] = session.study.completion_code
        context["prolific_url"] = (
            f"{PROLIFIC_COMPLETE_URL}?{urlencode({'cc': session.study.completion_code})}"
        )
    elif participant.source == Participant.Source.MTURK:
        data = participant.recruiter_data
        context["mturk_submit_url"] = f"{data['turkSubmitTo']}/mturk/externalSubmit"
        context["assignment_id"] = data["assignmentId"]
    return render(request, "studies/complete.html", context)


@frameable
@participant_view
@require_POST
@limit_body
def consent(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    session = _session_or_404(request, slug, token)
    if request.POST.get("consent") != "yes":
        return _message(
            request,
            "Please tick the box to give your consent.",
            status=400,
            back=_session_url(session),
        )
    services.session_consent(session=session)
    return redirect(_session_url(session))


@frameable
@participant_view
@require_POST
@limit_body
def screening_device(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    session = _session_or_404(request, slug, token)
    back = _session_url(session)
    form = DeviceForm(request.POST)
    if not form.is_valid():
        return _message(request, "The screen check could not be read.", status=400, back=back)
    services.screening_device_submit(
        session=session, width=form.cleaned_data["width"], height=form.cleaned_data["height"]
    )
    return redirect(back)


@frameable
@participant_view
@require_POST
@limit_body
def screening_submit(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    session = _session_or_404(request, slug, token)
    back = _session_url(session)
    try:
        responses = parse_screening(request.POST)
        services.screening_submit(
            session=session,
            responses=responses,
            cannot_play=request.POST.get("cannot_play") == "yes",
        )
    except InputError as exc:
        return _message(request, str(exc), status=400, back=back)
    except StudyError as exc:
        return _message(request, exc.message, status=exc.status, back=back)
    return redirect(back)


@participant_view
@require_POST
@limit_body
def screening_latency(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """One run of the latency check: the page's event and tap times; the estimate is made here."""
    from studies.latency import LatencyError

    session = _session_or_404(request, slug, token)
    try:
        report = parse_latency_report(request.POST)
        result = services.screening_latency_record(session=session, report=report)
    except (InputError, LatencyError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except StudyError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse(result)


@participant_view
@require_POST
@limit_body
def screening_event(request: HttpRequest, slug: str, token: str, item_token: str) -> HttpResponse:
    session = _session_or_404(request, slug, token)
    form = ScreeningEventForm(request.POST)
    if not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        return JsonResponse({"error": f"Invalid playback event ({fields})."}, status=400)
    try:
        heard = services.screening_playback_record(
            session=session,
            item_token=item_token,
            kind=form.cleaned_data["kind"],
            client_ms=form.cleaned_data["client_ms"],
            media_time=form.cleaned_data["media_time"],
        )
    except StudyError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse({"heard": heard})


@participant_view
@require_GET
def screening_media(request: HttpRequest, slug: str, token: str, item_token: str) -> HttpResponse:
    """A screening sound, only for its own session, under an opaque name, and only once the
    device check is done (no sound comes before it)."""
    session = _session_or_404(request, slug, token)
    item = selectors.screening_item_of(session=session, token=item_token)
    if item is None or not screening_device_done(session):
        raise Http404("No such sound.")
    try:
        return media.serve_stored(request, item.media_file)
    except (FileNotFoundError, ValueError):
        raise Http404("No such sound.") from None


@participant_view
@require_POST
@limit_body
def playback_event(request: HttpRequest, slug: str, token: str, index: int) -> HttpResponse:
    session = _session_or_404(request, slug, token)
    form = PlaybackEventForm(request.POST)
    if not form.is_valid():
        fields = ", ".join(sorted(form.errors))
        return JsonResponse({"error": f"Invalid playback event ({fields})."}, status=400)
    try:
        state = services.playback_record(
            session=session,
            trial_index=index,
            position=form.cleaned_position(),
            kind=form.cleaned_data["kind"],
            client_ms=form.cleaned_data["client_ms"],
            media_time=form.cleaned_data["media_time"],
        )
    except StudyError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return JsonResponse(
        {"played": state.played, "unlocked": state.all_played, "reason": state.reason}
    )


@frameable
@participant_view
@require_POST
@limit_body
def skip(request: HttpRequest, slug: str, token: str, index: int) -> HttpResponse:
    """Skip a trial whose video would not load (no penalty); the session goes on."""
    session = _session_or_404(request, slug, token)
    back = _session_url(session)
    try:
        services.trial_skip(session=session, trial_index=index)
    except StudyError as exc:
        return _message(request, exc.message, status=exc.status, back=back)
    return redirect(back)


@frameable
@participant_view
@require_POST
@limit_body
def answer(request: HttpRequest, slug: str, token: str, index: int) -> HttpResponse:
    session = _session_or_404(request, slug, token)
    study = session.study
    back = _session_url(session)
    keys = [c.key for c in study.criteria.all()]
    trial = selectors.session_trial(session=session, index=index)
    if trial is None:
        return _message(request, "There is no such trial in this session.", status=404, back=back)
    try:
        post = request.POST.copy()
        telemetry = post.pop("_telemetry", [""])[-1]
        choices = design_of(study).parse(post, keys, trial.slots.count())
        result = services.trial_answer(
            session=session, trial_index=index, choices=choices, telemetry=telemetry
        )
    except InputError as exc:
        return _message(request, str(exc), status=400, back=back)
    except StudyError as exc:
        return _message(request, exc.message, status=exc.status, back=back)
    if _wants_json(request):
        stored = design_of(study).labels(result.choices)
        return JsonResponse({"stored": stored, "repeated": not result.created, "next": back})
    return redirect(back, permanent=False)


@participant_view
@require_GET
def participant_media(request: HttpRequest, slug: str, token: str, slot_token: str) -> HttpResponse:
    """A slot's video, only for the session (and browser) the slot belongs to."""
    session = _session_or_404(request, slug, token)
    slot = selectors.trial_slot_of(session=session, token=slot_token)
    if slot is None:
        raise Http404("No such video.")
    try:
        return media.serve_stored(request, slot.media_file)
    except (FileNotFoundError, ValueError):
        raise Http404("No such video.") from None


@staff_member_required
@require_GET
def staff_media(request: HttpRequest, path: str) -> HttpResponse:
    """Stimuli for logged-in staff (admin previews); participants never use this URL."""
    root = settings.MEDIA_ROOT
    if "\x00" in path:
        raise Http404("No such file.")
    if not storage.is_local():
        field_file = FieldFile(None, FileField(), path)
        if ".." in path.split("/") or not default_storage.exists(path):
            raise Http404("No such file.")
        return media.serve_stored(request, field_file)
    full = (root / path).resolve()
    if root not in full.parents or not full.is_file():
        raise Http404("No such file.")
    return media.serve_file(request, str(full))
