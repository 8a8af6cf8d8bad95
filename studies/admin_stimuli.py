"""Admin for the systems' checkpoints and the clip generation jobs (imported by studies.admin)."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from studies.errors import StudyError
from studies.models import Checkpoint, GenerationJob, GenerationTask
from studies.tasks import generation_job_enqueue


class CheckpointForm(forms.ModelForm):
    class Meta:
        model = Checkpoint
        fields = ["path"]

    def clean_path(self):
        # Read the file now, so a bad path or a foreign file is a form error, not a crash.
        try:
            from studies.stimuli.checkpoints import checkpoint_inspect  # torch: only when used

            return checkpoint_inspect(path=self.cleaned_data["path"])["path"]
        except StudyError as exc:
            raise forms.ValidationError(exc.message) from None


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

    def get_fields(self, request, obj=None):
        return ["path"] if obj is None else ["path", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        from studies.stimuli.checkpoints import checkpoint_register  # torch: only when used

        obj.pk = checkpoint_register(path=obj.path).pk

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


class GenerationJobForm(forms.ModelForm):
    systems = forms.CharField(
        required=False, help_text="System keys separated by spaces; empty: all of the study's."
    )

    class Meta:
        model = GenerationJob
        fields = ["study", "systems", "device", "batch_size", "force", "checks"]

    def clean_systems(self):
        return self.cleaned_data["systems"].split()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            from studies.stimuli.jobs import generation_job_create  # torch: not at start-up

            self.job = generation_job_create(
                study=data["study"],
                systems=data["systems"],
                device=data["device"],
                batch_size=data["batch_size"],
                force=data["force"],
                checks=data["checks"],
            )
        except StudyError as exc:
            raise forms.ValidationError(exc.message) from None
        return data


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
class GenerationJobAdmin(admin.ModelAdmin):
    form = GenerationJobForm

    def get_inlines(self, request, obj=None):
        return [GenerationTaskInline] if obj is not None else []  # a new job has no tasks

    list_display = ["pk", "study", "status", "progress", "failed", "created_at", "finished_at"]
    list_filter = ["status", "study"]
    list_select_related = ["study"]
    readonly_fields = [
        "status",
        "progress",
        "failed",
        "message",
        "failures",
        "created_at",
        "started_at",
        "finished_at",
    ]

    def get_fields(self, request, obj=None):
        editable = ["study", "systems", "device", "batch_size", "force", "checks"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "study",
            "systems",
            "device",
            "batch_size",
            "force",
            "checks",
            *self.readonly_fields,
        ]

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj.pk = form.job.pk
        generation_job_enqueue(job=form.job)
        messages.info(request, f"Job {form.job.pk} queued; the worker (run_huey) runs it.")

    def response_add(self, request, obj, post_url_continue=None):
        obj = GenerationJob.objects.get(pk=obj.pk)
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="progress")
    def progress(self, obj: GenerationJob) -> str:
        return f"{obj.done + obj.failed} / {obj.total}" if obj.total else "-"

    @admin.display(description="failures")
    def failures(self, obj: GenerationJob) -> str:
        if not obj.errors:
            return "-"
        rows = [(e["item"] or "-", e["system"] or "-", e["error"]) for e in obj.errors]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>item</th><th>system</th><th>error</th></tr>{}</table>", body
        )
