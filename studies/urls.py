from django.urls import path

from studies import views

app_name = "studies"

urlpatterns = [
    path("s/<slug:slug>/", views.arrive, name="arrive"),
    path("s/<slug:slug>/p/<str:token>/", views.session_page, name="session"),
    path("s/<slug:slug>/p/<str:token>/consent", views.consent, name="consent"),
    path("s/<slug:slug>/p/<str:token>/t/<int:index>/event", views.playback_event, name="event"),
    path("s/<slug:slug>/p/<str:token>/t/<int:index>/answer", views.answer, name="answer"),
    path("s/<slug:slug>/p/<str:token>/m/<str:slot_token>", views.participant_media, name="media"),
    path("staff/media/<path:path>", views.staff_media, name="staff_media"),
]
