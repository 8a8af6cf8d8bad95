"""Who may start a session: the browser a session belongs to, and limits on new sessions.

- A session is bound to the browser that started it by a signed cookie (one per study) holding
  its token. The session's URL alone is not enough: another browser gets a clear page instead.
- New sessions are limited per client address (a keyed hash of it is kept, never the address)
  and per study, so nobody fills the database or the allocation with scripted arrivals.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from studies.models import Session, Study

_SALT = "studies.session-binding"
BINDING_DAYS = 14


def binding_cookie_name(study: Study) -> str:
    return f"fe_{study.pk}"


def browser_bind(response: HttpResponse, session: Session) -> None:
    """Remember in this browser that the session is its own."""
    response.set_signed_cookie(
        binding_cookie_name(session.study),
        session.token,
        salt=_SALT,
        max_age=BINDING_DAYS * 86400,
        httponly=True,
        samesite=settings.CSRF_COOKIE_SAMESITE,
        secure=settings.CSRF_COOKIE_SECURE,
    )


def browser_owns(request: HttpRequest, session: Session) -> bool:
    try:
        value = request.get_signed_cookie(
            binding_cookie_name(session.study),
            default=None,
            salt=_SALT,
            max_age=BINDING_DAYS * 86400,
        )
    except signing.BadSignature:
        return False
    return value == session.token


def client_address(request: HttpRequest) -> str:
    """The client's address: behind our own HTTPS proxy, the address it appended last to
    X-Forwarded-For (earlier entries are whatever the client sent); else REMOTE_ADDR."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "")


def client_hash(request: HttpRequest) -> str:
    return salted_hmac("studies.client-address", client_address(request)).hexdigest()


def arrival_limit_reached(*, study: Study, client: str, now: datetime) -> str:
    """Why a new session may not start now ("" when it may)."""
    per_address = settings.PARTICIPANT_SESSIONS_PER_ADDRESS_PER_HOUR
    recent = Session.objects.filter(client_hash=client, started_at__gt=now - timedelta(hours=1))
    if client and recent.count() >= per_address:
        return (
            "Too many sessions were started from your network in the last hour. "
            "Please try again later."
        )
    per_study = settings.PARTICIPANT_SESSIONS_PER_STUDY_PER_MINUTE
    busy = Session.objects.filter(study=study, started_at__gt=now - timedelta(minutes=1))
    if busy.count() >= per_study:
        return "Many people are starting this study right now. Please try again in a minute."
    return ""
