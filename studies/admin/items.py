"""Items (one performance video each) and their clips and check clips."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count

from studies.admin.widgets import FILE_FIELD_OVERRIDES, media_link
from studies.models import (
    CheckClip,
    Clip,
    Item,
    System,
)


class ClipInline(admin.TabularInline):
    model = Clip
    formfield_overrides = {models.FileField: FILE_FIELD_OVERRIDES}
    extra = 0
    fields = ["system", "media", "duration_s", "loudness_lufs", "preview"]
    readonly_fields = ["preview"]

    @admin.display(description="preview")
    def preview(self, obj: Clip) -> str:
        return media_link(obj.media)

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
        return media_link(obj.media)


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
