"""Admin form pieces shared by several pages."""

from django import forms
from django.urls import reverse


class _StaffLink:
    """A stored file as the clearable file input shows it: its name, linked to the staff media
    view (stimuli are never served from MEDIA_URL, so the default link would 404)."""

    def __init__(self, name: str):
        self.name = name
        self.url = reverse("studies:staff_media", args=[name])

    def __str__(self) -> str:
        return self.name


class StaffFileInput(forms.ClearableFileInput):
    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if context["widget"]["is_initial"]:
            context["widget"]["value"] = _StaffLink(value.name)
        return context


FILE_FIELD_OVERRIDES = {"widget": StaffFileInput}


def path_choice_fields():
    """A select of paths found in a folder and a text box for any other path (declare both on
    the form; fill them with path_choice_fill in its __init__)."""
    return forms.ChoiceField(required=False), forms.CharField(required=False)


def path_choice_fill(choice, typed, *, found: list[tuple[str, str]], what: str, folder: str):
    choice.choices = [("", f"- pick one of the {len(found)} found under {folder} -"), *found]
    choice.label = f"{what} found"
    typed.label = f"or another {what.lower()} path"
    typed.widget.attrs["size"] = 80
    typed.help_text = f"An absolute path on the server, for a {what.lower()} outside {folder}."


def picked_path(cleaned: dict, choice: str, typed: str, *, what: str) -> str:
    value = (cleaned.get(typed) or "").strip() or cleaned.get(choice) or ""
    if not value:
        raise forms.ValidationError(f"Pick a {what.lower()} from the list or type its path.")
    return value


def media_link(field_file) -> str:
    """A staff-only preview link to a stored file (the staff media view)."""
    from django.urls import reverse
    from django.utils.html import format_html

    if not field_file:
        return "-"
    url = reverse("studies:staff_media", args=[field_file.name])
    return format_html('<a href="{}" target="_blank" rel="noopener">preview</a>', url)
