"""What every background job's admin page shares (generation, item import, training): a status
panel that updates itself (progress, per-part rows, elapsed, ETA), and a Cancel that the worker
obeys at its next unit of work. Also the item-import and training-run pages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from studies.admin.widgets import path_choice_fields, path_choice_fill, picked_path
from studies.errors import StudyError
from studies.models import ClipImport, ItemImport, Study, System, TrainingRun
from studies.stimuli.background import format_seconds, job_cancel, job_progress
from studies.tasks import background_job_enqueue

# How often an open job page asks for its status, in milliseconds.
POLL_MS = 2000


def _notes_html(notes: list[str]) -> str:
    """A job's notes (an import's problems) as a list for its page."""
    if not notes:
        return "-"
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((n,) for n in notes)))


class JobForm(forms.ModelForm):
    """A job's add form: cleaning creates the job (the create function checks every option), so
    a StudyError is a form error naming the problem and nothing is queued."""

    def create_job(self, data: dict):
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.job = self.create_job(data)
        except StudyError as exc:
            raise forms.ValidationError(exc.message) from None
        return data


class BackgroundJobAdmin(admin.ModelAdmin):
    change_form_template = "admin/studies/background_job_change_form.html"
    actions = ["cancel_jobs"]

    def part_rows(self, job) -> list[dict]:
        """Per-part progress (a generation job's systems); none by default."""
        return []

    def status_html(self, job) -> str:
        progress = job_progress(job)
        return render_to_string(
            "admin/studies/job_status.html",
            {
                "job": job,
                "p": progress,
                "elapsed": format_seconds(progress["elapsed_s"] if job.started_at else None),
                "eta": format_seconds(progress["eta_s"]),
                "rows": self.part_rows(job),
            },
        )

    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_urls(self):
        own = [
            path(
                "<int:pk>/status/",
                self.admin_site.admin_view(self.status_view),
                name=self._url_name("status"),
            ),
            path(
                "<int:pk>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name=self._url_name("cancel"),
            ),
        ]
        return own + super().get_urls()

    def status_view(self, request, pk: int):
        job = get_object_or_404(self.model, pk=pk)
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        data = {"active": job.active, "status": job.status, "html": self.status_html(job)}
        response = JsonResponse(data)
        response["Cache-Control"] = "no-store"
        return response

    def cancel_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = get_object_or_404(self.model, pk=pk)
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        self._cancel(request, job)
        return redirect(reverse("admin:" + self._url_name("change"), args=[pk]))

    def _cancel(self, request, job) -> None:
        if job_cancel(job=job):
            self.message_user(
                request,
                f"{job} cancelled: its worker stops at the next unit of work and keeps what it "
                "finished.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, f"{job} was already over; nothing to cancel.", messages.INFO)

    @admin.action(description="Cancel the selected jobs (workers stop cleanly)")
    def cancel_jobs(self, request, queryset):
        for job in queryset:
            self._cancel(request, job)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        job = self.get_object(request, object_id)
        if job is not None:
            extra.update(
                job_status_html=self.status_html(job),
                job_active=job.active,
                job_status_url=reverse("admin:" + self._url_name("status"), args=[job.pk]),
                job_cancel_url=reverse("admin:" + self._url_name("cancel"), args=[job.pk]),
                job_poll_ms=POLL_MS,
            )
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="progress")
    def progress(self, obj) -> str:
        p = job_progress(obj)
        return f"{p['units']} / {p['total']}" if p["total"] else "-"

    @admin.display(description="ETA")
    def eta(self, obj) -> str:
        return format_seconds(job_progress(obj)["eta_s"])

    @admin.display(description="failures")
    def failures(self, obj) -> str:
        if not obj.errors:
            return "-"
        rows = [(e.get("item") or "-", e.get("system") or "-", e["error"]) for e in obj.errors]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>item</th><th>system</th><th>error</th></tr>{}</table>", body
        )

    def save_model(self, request, obj, form, change):
        """A new job was made by its form (which checked the options); queue it."""
        if change:
            return
        obj.pk = form.job.pk
        self.enqueue(form.job)
        what = str(self.opts.verbose_name).capitalize()
        messages.info(
            request, f"{what} {form.job.pk} queued; a worker (manage.py run_huey) runs it."
        )

    def enqueue(self, job) -> None:
        background_job_enqueue(job=job)

    def response_add(self, request, obj, post_url_continue=None):
        obj = self.model.objects.get(pk=obj.pk)
        return super().response_add(request, obj, post_url_continue)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*self.option_fields, *self.job_readonly_fields]

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else [*self.option_fields, *self.job_readonly_fields]

    job_readonly_fields = [
        "status",
        "progress",
        "eta",
        "failed",
        "message",
        "failures",
        "created_at",
        "started_at",
        "finished_at",
    ]
    add_fields: list[str] = []  # the add form's fields
    option_fields: list[str] = []  # the job's options, shown read-only once it exists


def _dataset_choices() -> list[tuple[str, str]]:
    from django.conf import settings

    from studies.stimuli.datasets import dataset_folders

    root = settings.DATASETS_DIR
    return [(str(p), str(p.relative_to(root)) if p != root else p.name) for p in dataset_folders()]


class _DatasetFormMixin:
    """A dataset folder picked from DATASETS_DIR or typed (declare `dataset, dataset_path =
    path_choice_fields()` on the form)."""

    def _add_dataset_fields(self):
        from django.conf import settings

        path_choice_fill(
            self.fields["dataset"],
            self.fields["dataset_path"],
            found=_dataset_choices(),
            what="Dataset",
            folder=str(settings.DATASETS_DIR),
        )

    def _data_dir(self, cleaned) -> str:
        return picked_path(cleaned, "dataset", "dataset_path", what="Dataset")


class ItemImportForm(_DatasetFormMixin, JobForm):
    dataset, dataset_path = path_choice_fields()
    categories_text = forms.CharField(
        required=False,
        label="Instruments",
        help_text="Instrument names separated by spaces; empty: every instrument of the split.",
    )

    class Meta:
        model = ItemImport
        fields = ["study", "split", "per_category", "duration_s"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_dataset_fields()
        if "study" in self.fields:
            self.fields["study"].queryset = Study.objects.filter(status=Study.Status.DRAFT)
            self.fields["study"].help_text = "Items can be added to draft studies only."

    def create_job(self, data: dict):
        from studies.stimuli.items import item_import_create

        return item_import_create(
            study=data["study"],
            data_dir=self._data_dir(data),
            split=data["split"],
            per_category=data["per_category"],
            duration_s=data["duration_s"],
            categories=data["categories_text"].split(),
        )


@admin.register(ItemImport)
class ItemImportAdmin(BackgroundJobAdmin):
    form = ItemImportForm
    list_display = ["pk", "study", "status", "progress", "failed", "created_at", "finished_at"]
    list_filter = ["status", "study"]
    list_select_related = ["study"]
    option_fields = ["study", "data_dir", "split", "per_category", "duration_s", "categories"]
    job_readonly_fields = [*BackgroundJobAdmin.job_readonly_fields, "notes_list"]

    add_fields = ["study", "dataset", "dataset_path", "split", "per_category", "duration_s",
                  "categories_text"]  # fmt: skip

    notes_list = admin.display(description="notes")(lambda self, obj: _notes_html(obj.notes))


class ClipImportForm(JobForm):
    source_path = forms.CharField(
        required=False,
        label="Folder or manifest on the server",
        help_text="DIR/videos/<item>.mp4, DIR/<system>/<item>.wav (any audio or video), "
        "optionally DIR/reference/<item>.wav; or a manifest .csv (item, system, path).",
    )
    zip_file = forms.FileField(
        required=False, label="Or upload a zip", help_text="A zip of such a folder."
    )

    class Meta:
        model = ClipImport
        fields = ["study", "category", "tolerance_s", "keep_system_video"]

    def create_job(self, data: dict):
        from studies.stimuli.clip_import import clip_import_create

        return clip_import_create(
            study=data["study"],
            source=data["source_path"].strip(),
            upload=data.get("zip_file"),
            category=data["category"],
            tolerance_s=data["tolerance_s"],
            keep_system_video=data["keep_system_video"],
        )


@admin.register(ClipImport)
class ClipImportAdmin(BackgroundJobAdmin):
    form = ClipImportForm
    list_display = ["pk", "study", "status", "progress", "failed", "created_at", "finished_at"]
    list_filter = ["status", "study"]
    list_select_related = ["study"]
    option_fields = ["study", "source", "upload", "category", "tolerance_s", "keep_system_video"]
    job_readonly_fields = [*BackgroundJobAdmin.job_readonly_fields, "notes_list"]
    add_fields = ["study", "source_path", "zip_file", "category", "tolerance_s",
                  "keep_system_video"]  # fmt: skip

    notes_list = admin.display(description="problems in the files")(
        lambda self, obj: _notes_html(obj.notes)
    )


class TrainingRunForm(_DatasetFormMixin, JobForm):
    dataset, dataset_path = path_choice_fields()
    system_key = forms.ChoiceField(label="System", help_text="What to train.")
    preset = forms.ChoiceField(
        initial="small",
        help_text="debug: seconds, for trying the pipeline; small: the demo's; paper: the "
        "paper's sizes (needs a GPU and hours).",
    )

    class Meta:
        model = TrainingRun
        fields = [
            "system_key",
            "preset",
            "device",
            "max_minutes",
            "max_steps",
            "val_every",
            "seed",
            "assign_to",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from foley_models.models.registry import SYSTEMS
        from studies.stimuli.training import PRESETS

        self._add_dataset_fields()
        if "system_key" in self.fields:
            self.fields["system_key"].choices = [(s, s) for s in SYSTEMS]
            self.fields["preset"].choices = [(p, p) for p in PRESETS]
            systems = System.objects.filter(study__status=Study.Status.DRAFT, clips__isnull=True)
            self.fields["assign_to"].queryset = systems.select_related("study").distinct()
            self.fields["assign_to"].label_from_instance = lambda s: f"{s.study.slug}: {s.key}"

    def create_job(self, data: dict):
        from studies.stimuli.training import training_run_create

        return training_run_create(
            system_key=data["system_key"],
            data_dir=self._data_dir(data),
            preset=data["preset"],
            device=data["device"],
            max_minutes=data["max_minutes"],
            max_steps=data["max_steps"],
            val_every=data["val_every"],
            seed=data["seed"],
            assign_to=data["assign_to"],
        )


@admin.register(TrainingRun)
class TrainingRunAdmin(BackgroundJobAdmin):
    form = TrainingRunForm
    list_display = ["pk", "system_key", "preset", "status", "progress", "checkpoint", "created_at"]
    list_filter = ["status", "system_key", "preset"]
    option_fields = [
        "system_key",
        "preset",
        "data_dir",
        "device",
        "max_minutes",
        "max_steps",
        "val_every",
        "seed",
        "assign_to",
        "out_dir",
        "checkpoint",
    ]

    add_fields = ["system_key", "dataset", "dataset_path", "preset", "device", "max_minutes",
                  "max_steps", "val_every", "seed", "assign_to"]  # fmt: skip
