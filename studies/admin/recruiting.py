"""Recruitments on the platforms and the ledger of every remote action."""

from django.contrib import admin, messages

from studies.errors import StudyError
from studies.models import (
    Recruitment,
    RemoteAction,
)
from studies.recruiters.base import RecruiterError
from studies.services import recruiting


class RemoteActionInline(admin.TabularInline):
    model = RemoteAction
    extra = 0
    can_delete = False
    fields = ["kind", "target", "state", "attempts", "error", "updated_at"]
    readonly_fields = fields


@admin.register(Recruitment)
class RecruitmentAdmin(admin.ModelAdmin):
    """Adding a recruitment publishes the study on that platform (the `publish` command)."""

    list_display = ["study", "recruiter", "sandbox", "remote_id", "places", "created_at"]
    list_filter = ["recruiter", "study"]
    list_select_related = ["study"]
    fields = ["study", "recruiter", "sandbox", "places", "reward_cents", "minutes", "remote_id"]
    inlines = [RemoteActionInline]
    actions = ["continue_publishing"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj else ["remote_id"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self._publish(request, obj)

    def _publish(self, request, recruitment: Recruitment) -> None:
        try:
            recruiting.recruitment_continue(recruitment=recruitment, minutes=recruitment.minutes)
        except (StudyError, RecruiterError) as exc:
            self.message_user(request, f"Not published: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"Published as {recruitment.remote_id}.", messages.SUCCESS)

    @admin.action(description="Continue publishing (after a failure)")
    def continue_publishing(self, request, queryset):
        for recruitment in queryset:
            self._publish(request, recruitment)


@admin.register(RemoteAction)
class RemoteActionAdmin(admin.ModelAdmin):
    """The ledger. Only the state can be changed by hand: after checking on the platform what
    happened to an action left "sent, outcome unknown", mark it done or failed."""

    list_display = ["kind", "target", "state", "attempts", "recruitment", "updated_at"]
    list_filter = ["state", "kind"]
    list_select_related = ["recruitment__study"]
    search_fields = ["key", "target"]
    fields = ["recruitment", "kind", "key", "target", "payload", "state", "response", "error"]
    readonly_fields = ["recruitment", "kind", "key", "target", "payload", "response", "error"]

    def has_add_permission(self, request) -> bool:
        return False
