"""The study's admin pages: the study form with its design, questions and systems, launch,
pause and close, review and bonuses as actions, progress and the dashboard."""

from collections import Counter

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from studies import selectors, services
from studies.designs import DESIGNS
from studies.errors import StudyError, StudyNotReady
from studies.models import (
    DEFAULT_CRITERIA,
    Criterion,
    Study,
    System,
)
from studies.recruiters.base import RecruiterError
from studies.services import recruiting
from studies.tasks import generation_job_enqueue


def participant_link(study: Study) -> str:
    return settings.PUBLIC_BASE_URL + reverse("studies:arrive", args=[study.slug])


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
                    ("player", "switch_heard_fraction"),
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
                    ("qc_min_heard_fraction", "qc_max_hidden_seconds"),
                ]
            },
        ),
        (
            "Screening",
            {
                "fields": [
                    "screening",
                    ("headphone_trials", "headphone_min_correct"),
                    "latency_check",
                    ("max_av_delay_ms", "latency_screen_out", "latency_compensate"),
                ]
            },
        ),
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
                job = services.generation_job_create(study=study)
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
