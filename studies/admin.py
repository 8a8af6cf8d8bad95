"""The researcher's UI: studies, items and clips, launch, pause, close, and progress."""

from collections import Counter

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from studies import recruiting, selectors, services
from studies.admin_widgets import FILE_FIELD_OVERRIDES
from studies.designs import DESIGNS
from studies.errors import StudyError, StudyNotReady
from studies.models import (
    DEFAULT_CRITERIA,
    CheckClip,
    Clip,
    Criterion,
    Item,
    Participant,
    PlaybackEvent,
    Recruitment,
    RemoteAction,
    Session,
    Study,
    System,
    Trial,
    TrialSlot,
    Vote,
)
from studies.recruiters.base import RecruiterError
from studies.tasks import generation_job_enqueue


def participant_link(study: Study) -> str:
    return settings.PUBLIC_BASE_URL + reverse("studies:arrive", args=[study.slug])


def _media_link(field_file) -> str:
    if not field_file:
        return "-"
    url = reverse("studies:staff_media", args=[field_file.name])
    return format_html('<a href="{}" target="_blank" rel="noopener">preview</a>', url)


class _DefaultCriterionForm(forms.ModelForm):
    """A row of the add form's criteria, pre-filled with one of the four defaults: saved as
    shown unless removed (an unchanged pre-filled row is still wanted)."""

    def has_changed(self) -> bool:
        return bool(self.initial) or super().has_changed()


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0
    fields = ["key", "question", "order"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        sizes = {"key": 16, "question": 55}
        if db_field.name in sizes:
            kwargs["widget"] = forms.TextInput(attrs={"size": sizes[db_field.name]})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        if obj is None:  # the add form shows the four defaults, editable, instead of nothing
            kwargs["form"] = _DefaultCriterionForm
        return super().get_formset(request, obj, **kwargs)

    def get_extra(self, request, obj=None, **kwargs) -> int:
        if obj is not None:
            return 0
        design = DESIGNS.get(request.GET.get("design", ""), DESIGNS["best_of"])
        return len(design.default_criteria)


class SystemInline(admin.StackedInline):
    """One block per system (a table of five wide fields would not fit the page)."""

    model = System
    extra = 0
    fields = [("key", "name", "role"), "checkpoint", "sampling", "description"]
    autocomplete_fields = ["checkpoint"]
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 60})},
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 1, "cols": 60})},
    }


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "status", "n_items", "n_sessions", "link"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [CriterionInline, SystemInline]
    actions = [
        "generate_clips",
        "launch",
        "launch_accepting_warnings",
        "pause",
        "close",
        "review_dry_run",
        "review",
        "pay_bonuses",
    ]
    readonly_fields = ["status", "launched_at", "link", "progress"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "launched_at", "link", "progress"]}),
        ("What participants read", {"fields": ["instructions", "consent_text"]}),
        (
            "Design",
            {
                "fields": [
                    "design",
                    ("allow_no_preference", "versions_per_trial"),
                    "trials_per_session",
                    "check_trials_per_session",
                    "target_votes_per_item",
                    "lease_minutes",
                    "max_skipped_trials",
                ]
            },
        ),
        (
            "Arrivals and codes",
            {
                "fields": [
                    "accept_local_arrivals",
                    "completion_code",
                    "screenout_code",
                    "screenout_reward_cents",
                ]
            },
        ),
        (
            "Quality control",
            {
                "fields": [
                    "qc_max_failed_checks",
                    "qc_min_trial_seconds",
                    "qc_max_same_slot_share",
                    "qc_require_played_all",
                ]
            },
        ),
        ("Screening", {"fields": ["screening", "headphone_trials", "headphone_min_correct"]}),
        ("Payment", {"fields": ["bonus_cents"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _n_items=Count("items", distinct=True), _n_sessions=Count("sessions", distinct=True)
            )
        )

    @admin.display(description="items", ordering="_n_items")
    def n_items(self, obj: Study) -> int:
        return obj._n_items

    @admin.display(description="sessions", ordering="_n_sessions")
    def n_sessions(self, obj: Study) -> int:
        return obj._n_sessions

    @admin.display(description="participant link")
    def link(self, obj: Study) -> str:
        if not obj.pk:
            return "-"
        if obj.status == Study.Status.DRAFT:
            return "available after launch"
        url = participant_link(obj)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description="progress")
    def progress(self, obj: Study) -> str:
        if not obj.pk:
            return "-"
        p = selectors.study_progress(study=obj)
        rows = [
            ("Sessions started / completed", f"{p.sessions_started} / {p.sessions_completed}"),
            *((f"Valid votes: {key}", str(n)) for key, n in p.valid_votes_by_criterion.items()),
            (
                "Valid votes per item (min / max, target)",
                f"{p.min_votes_per_item} / {p.max_votes_per_item}, target {p.target}",
            ),
            ("Items below target", str(p.items_below_target)),
            (
                "Times chosen per item x system, all criteria together (min / max)",
                f"{p.min_chosen_item_system} / {p.max_chosen_item_system}",
            ),
        ]
        if p.simulated_sessions:
            rows.append(
                (
                    "Dry-run sessions (simulate_raters; counted in nothing above)",
                    f"{p.simulated_sessions} (remove: manage.py delete_simulated {obj.slug})",
                )
            )
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="progress">{}</table>', body)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        study = self.get_object(request, object_id)
        if study is not None:
            from studies.dashboard import study_dashboard  # matplotlib: only when shown

            extra["dashboard"] = study_dashboard(
                study=study, interim=request.GET.get("interim") == "1"
            )
        return super().change_view(request, object_id, form_url, extra)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, CriterionInline) and not obj.pk:
            # ?design=rating on the add page pre-fills that design's questions.
            design = DESIGNS.get(request.GET.get("design", ""), DESIGNS["best_of"])
            kwargs["initial"] = [
                {"key": key, "question": question, "order": order}
                for order, (key, question) in enumerate(design.default_criteria)
            ]
        return kwargs

    def save_model(self, request, obj, form, change):
        if not change:
            services.study_use_design_texts(study=obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        study = form.instance
        if change:
            return
        saved = [(c.key, c.question) for c in study.criteria.order_by("order", "id")]
        if saved == list(DEFAULT_CRITERIA) and study.design != "best_of":
            # The best-of questions were pre-filled and left as they were, but the study rates
            # or pairs versions: its design's own wording fits ("Which video ..." does not).
            study.criteria.all().delete()
        if not study.criteria.exists():
            services.criteria_add_defaults(study=study)  # every row was removed

    @admin.action(description="Generate missing clips (background job)")
    def generate_clips(self, request, queryset):
        for study in queryset:
            try:
                from studies.stimuli.jobs import (
                    generation_job_create,
                )  # torch: not at start-up

                job = generation_job_create(study=study)
            except StudyError as exc:
                self.message_user(request, f"{study.title}: {exc.message}", messages.ERROR)
                continue
            generation_job_enqueue(job=job)
            url = reverse("admin:studies_generationjob_change", args=[job.pk])
            self.message_user(
                request,
                format_html('{}: <a href="{}">job {}</a> queued', study.title, url, job.pk),
                messages.SUCCESS,
            )

    @admin.action(description="Launch (check the study is complete, then set it live)")
    def launch(self, request, queryset):
        self._launch(request, queryset, accept_warnings=False)

    @admin.action(description="Launch, accepting the warnings of a first launch attempt")
    def launch_accepting_warnings(self, request, queryset):
        self._launch(request, queryset, accept_warnings=True)

    def _launch(self, request, queryset, *, accept_warnings: bool) -> None:
        for study in queryset:
            warnings = selectors.study_launch_warnings(study=study)
            if warnings and not accept_warnings:
                self.message_user(
                    request,
                    f"{study.title}: not launched, {len(warnings)} warning(s) to confirm (if "
                    "they are what you intend, use “Launch, accepting the warnings”):",
                    messages.WARNING,
                )
                for warning in warnings:
                    self.message_user(request, f"{study.title}: {warning}", messages.WARNING)
                continue
            try:
                services.study_launch(study=study)
            except StudyNotReady as exc:
                self.message_user(
                    request,
                    f"{study.title}: not launched, {len(exc.problems)} problem(s):",
                    messages.ERROR,
                )
                for problem in exc.problems:
                    self.message_user(request, f"{study.title}: {problem}", messages.ERROR)
                continue
            for warning in warnings:
                self.message_user(request, f"{study.title} (accepted): {warning}", messages.WARNING)
            self.message_user(
                request,
                format_html(
                    '{} is live. Participant link: <a href="{}">{}</a>',
                    study.title,
                    participant_link(study),
                    participant_link(study),
                ),
                messages.SUCCESS,
            )

    def _set_status(self, request, queryset, status: str) -> None:
        for study in queryset:
            try:
                services.study_set_status(study=study, status=status)
            except StudyError as exc:
                self.message_user(request, f"{study.title}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{study.title} is now {status}.", messages.SUCCESS)

    @admin.action(description="Pause (no new participants; sessions in progress may finish)")
    def pause(self, request, queryset):
        self._set_status(request, queryset, Study.Status.PAUSED)

    @admin.action(description="Close (no more answers)")
    def close(self, request, queryset):
        self._set_status(request, queryset, Study.Status.CLOSED)

    def _review(self, request, queryset, dry_run: bool) -> None:
        for study in queryset:
            try:
                rows = recruiting.study_review(study=study, dry_run=dry_run)
                extra = recruiting.study_top_up(study=study, dry_run=dry_run)
            except (StudyError, RecruiterError) as exc:
                self.message_user(request, f"{study.title}: {exc}", messages.ERROR)
                continue
            counts = Counter(r["decision"] for r in rows)
            summary = ", ".join(f"{n} {d}" for d, n in sorted(counts.items())) or "none"
            verb = "would request" if dry_run else "requested"
            self.message_user(
                request,
                f"{study.title}: submissions {summary}; {verb} {extra} more places"
                + (" (dry run: nothing sent)" if dry_run else ""),
                messages.INFO if dry_run else messages.SUCCESS,
            )

    @admin.action(description="Review submissions: dry run (show, send nothing)")
    def review_dry_run(self, request, queryset):
        self._review(request, queryset, dry_run=True)

    @admin.action(description="Review submissions: approve/reject, mark used votes, top up")
    def review(self, request, queryset):
        self._review(request, queryset, dry_run=False)

    @admin.action(description="Pay bonuses to the 'pay' tier (each at most once)")
    def pay_bonuses(self, request, queryset):
        for study in queryset:
            try:
                rows = recruiting.study_pay_bonuses(study=study)
            except (StudyError, RecruiterError) as exc:
                self.message_user(request, f"{study.title}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request, f"{study.title}: {len(rows)} bonuses done or recorded", messages.SUCCESS
            )


class ClipInline(admin.TabularInline):
    model = Clip
    formfield_overrides = {models.FileField: FILE_FIELD_OVERRIDES}
    extra = 0
    fields = ["system", "media", "duration_s", "loudness_lufs", "preview"]
    readonly_fields = ["preview"]

    @admin.display(description="preview")
    def preview(self, obj: Clip) -> str:
        return _media_link(obj.media)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only the systems of the item's own study.
        if db_field.name == "system" and request.resolver_match.kwargs.get("object_id"):
            item = Item.objects.filter(pk=request.resolver_match.kwargs["object_id"]).first()
            if item is not None:
                kwargs["queryset"] = System.objects.filter(study_id=item.study_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CheckClipInline(admin.TabularInline):
    model = CheckClip
    formfield_overrides = {models.FileField: FILE_FIELD_OVERRIDES}
    extra = 0
    fields = ["kind", "is_target", "media", "duration_s", "preview"]
    readonly_fields = ["preview"]

    @admin.display(description="preview")
    def preview(self, obj: CheckClip) -> str:
        return _media_link(obj.media)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["key", "study", "category", "duration_s", "n_clips", "complete"]
    list_filter = ["study", "category"]
    list_select_related = ["study"]
    search_fields = ["key", "category"]
    inlines = [ClipInline, CheckClipInline]
    formfield_overrides = {models.FileField: FILE_FIELD_OVERRIDES}

    def save_formset(self, request, form, formset, change):
        """Uploaded clips get their audio re-encoded like generated ones, then every version of
        the item is padded to one byte length (unless raters already have trials on it)."""
        from foley_models.render.ffmpeg import FFmpegError
        from studies.stimuli import sizes

        formset.save()
        for inline_form in formset.forms:
            row = inline_form.instance
            if row.pk and "media" in inline_form.changed_data and row.media:
                try:
                    sizes.upload_prepare(row)
                except FFmpegError as exc:
                    messages.error(request, f"{row}: the uploaded file could not be read: {exc}")
        item = form.instance
        if not item.trials.exists():
            sizes.item_versions_equalize(item)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _n_clips=Count("clips", distinct=True),
                _n_systems=Count("study__systems", distinct=True),
            )
        )

    @admin.display(description="clips", ordering="_n_clips")
    def n_clips(self, obj: Item) -> int:
        return obj._n_clips

    @admin.display(description="one clip per system", boolean=True)
    def complete(self, obj: Item) -> bool:
        return obj._n_clips == obj._n_systems


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["item", "system", "duration_s", "loudness_lufs", "created_at"]
    list_filter = ["item__study", "system__key"]
    list_select_related = ["item", "system"]
    formfield_overrides = {models.FileField: FILE_FIELD_OVERRIDES}


class TrialSlotInline(admin.TabularInline):
    model = TrialSlot
    extra = 0
    fields = ["position", "system", "clip", "check_clip", "played_to_end_at"]
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
    ]


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


# Checkpoints and generation jobs.
from studies import admin_jobs, admin_stimuli  # noqa: E402, F401
from studies.login_limits import rate_limited_login  # noqa: E402

admin.site.login = rate_limited_login(admin.site.login)
