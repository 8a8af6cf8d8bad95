"""Admin for the systems' checkpoints and the clip generation jobs (imported by studies.admin)."""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from studies import selectors
from studies.admin.jobs import BackgroundJobAdmin, JobForm
from studies.admin.widgets import path_choice_fields, path_choice_fill, picked_path
from studies.errors import StudyError
from studies.models import Checkpoint, GenerationJob, GenerationTask
from studies.services import generation_job_create
from studies.tasks import generation_job_enqueue


class CheckpointForm(forms.ModelForm):
    """A checkpoint file picked from MODELS_DIR or typed; registering a path again (after more
    training wrote a new file there) refreshes its row."""

    found, path = path_choice_fields()

    class Meta:
        model = Checkpoint
        fields = ["path"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            from studies.stimuli.checkpoints import checkpoint_files

            path_choice_fill(
                self.fields["found"],
                self.fields["path"],
                found=[(str(f["path"]), f["label"]) for f in checkpoint_files()],
                what="Checkpoint",
                folder=str(settings.MODELS_DIR),
            )

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and "found" in self.fields and not self.errors:
            data["path"] = picked_path(data, "found", "path", what="Checkpoint")
        # Read the file now, so a bad path or a foreign file is a form error, not a crash.
        try:
            from studies.stimuli.checkpoints import checkpoint_inspect  # torch: only when used

            data["path"] = checkpoint_inspect(path=data.get("path") or "")["path"]
        except StudyError as exc:
            raise forms.ValidationError(exc.message) from None
        self.instance.path = data["path"]
        return data

    def validate_unique(self):
        """A path registered before is registered again (save_model updates its row)."""


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    form = CheckpointForm
    list_display = ["system_key", "preset", "step", "short_hash", "path", "registered_at"]
    list_filter = ["system_key", "preset"]
    search_fields = ["path", "sha256"]
    readonly_fields = [
        "system_key",
        "preset",
        "step",
        "sha256",
        "format_version",
        "size_bytes",
        "config_table",
        "registered_at",
    ]

    actions = ["register_again"]

    def get_fields(self, request, obj=None):
        return ["found", "path"] if obj is None else ["path", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        from studies.stimuli.checkpoints import checkpoint_register  # torch: only when used

        before = Checkpoint.objects.filter(path=obj.path).first()
        row = checkpoint_register(path=obj.path)
        obj.pk = row.pk
        if before is not None and before.sha256 != row.sha256:
            messages.info(
                request,
                f"{row.path} registered again: sha256 {before.sha256[:12]} -> {row.sha256[:12]} "
                f"(step {before.step} -> {row.step}). Clips made with the old file keep its hash "
                "in their provenance.",
            )

    @admin.action(description="Register again (re-read the files, e.g. after more training)")
    def register_again(self, request, queryset):
        from studies.stimuli.checkpoints import checkpoint_register

        for row in queryset:
            try:
                new = checkpoint_register(path=row.path)
            except StudyError as exc:
                self.message_user(request, f"{row.path}: {exc.message}", messages.ERROR)
                continue
            same = "unchanged" if new.sha256 == row.sha256 else f"now sha256 {new.sha256[:12]}"
            self.message_user(request, f"{row.path}: {same}, step {new.step}", messages.SUCCESS)

    def response_add(self, request, obj, post_url_continue=None):
        obj = Checkpoint.objects.get(pk=obj.pk)
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="sha256")
    def short_hash(self, obj: Checkpoint) -> str:
        return obj.sha256[:12]

    @admin.display(description="config")
    def config_table(self, obj: Checkpoint) -> str:
        rows = [(key, json.dumps(value)) for key, value in obj.config.items()]
        body = format_html_join("", "<tr><th>{}</th><td><code>{}</code></td></tr>", rows)
        return format_html("<table>{}</table>", body)


class GenerationJobForm(JobForm):
    systems = forms.CharField(
        required=False, help_text="System keys separated by spaces; empty: all of the study's."
    )

    class Meta:
        model = GenerationJob
        fields = ["study", "systems", "device", "batch_size", "force", "checks"]

    def clean_systems(self):
        return self.cleaned_data["systems"].split()

    def create_job(self, data: dict):
        return generation_job_create(
            study=data["study"],
            systems=data["systems"],
            device=data["device"],
            batch_size=data["batch_size"],
            force=data["force"],
            checks=data["checks"],
        )


class GenerationTaskInline(admin.TabularInline):
    """The job's tasks as the workers took them: which worker, how many attempts, counts."""

    model = GenerationTask
    extra = 0
    can_delete = False
    fields = ["phase", "system", "items", "status", "worker", "attempts", "done", "failed",
              "message", "started_at", "finished_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="items")
    def items(self, obj: GenerationTask) -> int:
        return len(obj.item_ids)


@admin.register(GenerationJob)
class GenerationJobAdmin(BackgroundJobAdmin):
    form = GenerationJobForm
    list_display = ["pk", "study", "status", "progress", "failed", "created_at", "finished_at"]
    list_filter = ["status", "study"]
    list_select_related = ["study"]
    option_fields = ["study", "systems", "device", "batch_size", "force", "checks"]
    add_fields = option_fields

    def get_inlines(self, request, obj=None):
        return [GenerationTaskInline] if obj is not None else []  # a new job has no tasks

    def get_fields(self, request, obj=None):
        return (
            self.option_fields if obj is None else [*self.option_fields, *self.job_readonly_fields]
        )

    def part_rows(self, job: GenerationJob) -> list[dict]:
        return selectors.generation_job_parts(job=job)

    def enqueue(self, job) -> None:
        generation_job_enqueue(job=job)
