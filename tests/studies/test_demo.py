import pytest
from django.core.management import call_command

from studies.models import CheckClip, Clip, Study

pytestmark = pytest.mark.django_db


def test_build_demo_makes_a_launched_study_with_real_clips(tmp_path, settings, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    call_command("build_demo", "--slug", "d", "--items-per-category", "1", "--duration", "1.5")
    study = Study.objects.get(slug="d")
    assert study.status == Study.Status.LIVE
    assert study.items.count() == 4 and Clip.objects.filter(item__study=study).count() == 16
    assert CheckClip.objects.filter(item__study=study).count() == 16
    for clip in Clip.objects.filter(item__study=study):
        assert abs(clip.duration_s - 1.5) < 0.05 and (tmp_path / "media" / clip.media.name).exists()
    out = capsys.readouterr().out
    assert "Participant URL:" in out and "/s/d/" in out and "password:" in out
    call_command("build_demo", "--slug", "d", "--items-per-category", "1", "--duration", "1.5")
    assert Clip.objects.filter(item__study=study).count() == 16  # a second run reuses
