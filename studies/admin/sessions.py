"""Participants, sessions, trials and their votes and playback events (read and review)."""

from django.contrib import admin
from django.db.models import Count, Q

from studies.models import (
    Participant,
    PlaybackEvent,
    Session,
    Trial,
    TrialSlot,
    Vote,
)


class TrialSlotInline(admin.TabularInline):
    model = TrialSlot
    extra = 0
    fields = ["position", "system", "clip", "check_clip", "played_to_end_at", "heard_ms"]
    readonly_fields = fields
    can_delete = False


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    fields = ["criterion", "slot", "rt_ms", "submitted_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "study",
        "participant",
        "status",
        "answered",
        "n_trials",
        "excluded",
        "simulated",
        "started_at",
        "completed_at",
    ]
    list_filter = ["study", "status", "excluded", "simulated", "participant__source"]
    list_select_related = ["study", "participant"]
    readonly_fields = [
        "study",
        "participant",
        "token",
        "n_trials",
        "check_indices",
        "completion_code",
        "user_agent",
        "av_delay_ms",
        "consented_at",
        "completed_at",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_answered=Count("trials", filter=Q(trials__answered_at__isnull=False)))
        )

    @admin.display(description="answered", ordering="_answered")
    def answered(self, obj: Session) -> int:
        return obj._answered


@admin.register(Trial)
class TrialAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "session",
        "index",
        "item",
        "check_kind",
        "expected_slot",
        "answered_at",
        "skipped_at",
    ]
    list_filter = ["session__study", "check_kind", ("skipped_at", admin.EmptyFieldListFilter)]
    list_select_related = ["session", "item"]
    inlines = [TrialSlotInline, VoteInline]
    readonly_fields = [
        "session",
        "index",
        "item",
        "check_kind",
        "check_criterion",
        "expected_slot",
        "served_at",
        "lease_expires_at",
        "answered_at",
        "skipped_at",
        "playback_telemetry",
    ]

    @admin.display(description="playback telemetry")
    def playback_telemetry(self, obj: Trial) -> str:
        """The trial's telemetry (studies.telemetry) as indented JSON."""
        import json

        from django.utils.html import format_html

        if not obj.telemetry:
            return "-"
        return format_html("<pre>{}</pre>", json.dumps(obj.telemetry, indent=2))


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "study", "created_at"]
    list_filter = ["study", "source"]
    list_select_related = ["study"]
    search_fields = ["external_id"]


@admin.register(PlaybackEvent)
class PlaybackEventAdmin(admin.ModelAdmin):
    list_display = ["slot", "kind", "accepted", "reason", "media_time", "client_ms", "at"]
    list_filter = ["kind", "accepted"]
    list_select_related = ["slot"]
