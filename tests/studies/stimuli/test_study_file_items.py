"""A study file's [items]: create_study brings in dataset windows, or an import_clips folder."""

import pytest
from django.core.management import CommandError, call_command

from studies.models import Study

pytestmark = pytest.mark.django_db


def test_create_study_imports_the_items_the_file_names(stimuli_dataset, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "study.toml"
    path.write_text(
        'title = "From data"\nslug = "from-data"\n\n'
        '[[systems]]\nkey = "a"\nname = "A"\n\n[[systems]]\nkey = "b"\nname = "B"\n\n'
        f'[items]\ndataset = "{stimuli_dataset}"\nsplit = "test"\nper_category = 1\n'
        "duration_s = 2.0\n"
    )
    call_command("create_study", str(path))
    study = Study.objects.get(slug="from-data")
    assert study.items.count() == 2 and {i.category for i in study.items.all()} == {
        "piano", "violin"
    }  # fmt: skip


def test_an_items_table_with_two_sources_is_refused(tmp_path):
    path = tmp_path / "study.toml"
    (tmp_path / "d").mkdir()
    path.write_text('title = "T"\nslug = "t"\n\n[items]\ndataset = "d"\nclips = "d"\n')
    with pytest.raises(CommandError, match=r":4: \[items\]: give exactly one of"):
        call_command("create_study", str(path))
    assert not Study.objects.exists()
