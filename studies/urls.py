from django.urls import path, register_converter

from studies import views


class TokenConverter:
    """Opaque tokens are URL-safe base64; anything else is a 404 before any lookup."""

    regex = r"[A-Za-z0-9_\-]{8,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TrialIndexConverter:
    """A session's trial number; more than six digits cannot exist (and would overflow)."""

    regex = r"[0-9]{1,6}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(TokenConverter, "token")
register_converter(TrialIndexConverter, "index")
app_name = "studies"

urlpatterns = [
    path("", views.home, name="home"),
    path("s/<slug:slug>/", views.arrive, name="arrive"),
    path("s/<slug:slug>/p/<token:token>/", views.session_page, name="session"),
    path("s/<slug:slug>/p/<token:token>/consent", views.consent, name="consent"),
    path("s/<slug:slug>/p/<token:token>/screen", views.screening_submit, name="screen"),
    path(
        "s/<slug:slug>/p/<token:token>/screen/device", views.screening_device, name="screen_device"
    ),
    path(
        "s/<slug:slug>/p/<token:token>/screen/latency",
        views.screening_latency,
        name="screen_latency",
    ),
    path(
        "s/<slug:slug>/p/<token:token>/a/<token:item_token>/event",
        views.screening_event,
        name="screening_event",
    ),
    path(
        "s/<slug:slug>/p/<token:token>/a/<token:item_token>",
        views.screening_media,
        name="screening_media",
    ),
    path("s/<slug:slug>/p/<token:token>/t/<index:index>/event", views.playback_event, name="event"),
    path("s/<slug:slug>/p/<token:token>/t/<index:index>/answer", views.answer, name="answer"),
    path("s/<slug:slug>/p/<token:token>/t/<index:index>/skip", views.skip, name="skip"),
    path(
        "s/<slug:slug>/p/<token:token>/m/<token:slot_token>", views.participant_media, name="media"
    ),
    path("staff/media/<path:path>", views.staff_media, name="staff_media"),
]
