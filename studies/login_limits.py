"""Staff logins limited against password guessing: after ADMIN_LOGIN_FAILURES_ALLOWED failed
logins in 15 minutes from one client address, or for one user name, further login attempts are
answered 429 until the window has passed. Failures are recorded from Django's
`user_login_failed` signal (a keyed hash of the address, never the address)."""

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.models import Q
from django.dispatch import receiver
from django.http import HttpResponse
from django.utils import timezone

from studies.arrivals import client_hash
from studies.models import LoginFailure

WINDOW = timedelta(minutes=15)


def _username(value) -> str:
    return str(value or "").strip().lower()[:150]


def login_refused(request) -> bool:
    """Whether this request's address or user name has used up its failed logins."""
    since = timezone.now() - WINDOW
    recent = LoginFailure.objects.filter(at__gt=since)
    mine = Q(client_hash=client_hash(request))
    name = _username(request.POST.get("username"))
    if name:
        mine |= Q(username=name)
    return recent.filter(mine).count() >= settings.ADMIN_LOGIN_FAILURES_ALLOWED


def rate_limited_login(view):
    """Wrap a login view: a POST past the limit gets a 429 page instead of a password check."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST" and login_refused(request):
            response = HttpResponse(
                "Too many failed logins. Please wait 15 minutes and try again.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(int(WINDOW.total_seconds()))
            return response
        return view(request, *args, **kwargs)

    return wrapper


@receiver(user_login_failed)
def _record_failure(sender, credentials, request=None, **kwargs) -> None:
    if request is None:
        return
    LoginFailure.objects.create(
        client_hash=client_hash(request), username=_username(credentials.get("username"))
    )
    # Old rows are of no use past the window; keep the table small.
    LoginFailure.objects.filter(at__lt=timezone.now() - 4 * WINDOW).delete()
