import pytest
from django.core.management import call_command

from studies.models import CheckClip, Clip, GenerationJob, Study

pytestmark = pytest.mark.django_db

# The demo's pipeline at test size: one minute of data, debug presets trained for two steps.
ARGS = ["--slug", "d", "--data-minutes", "1.6", "--piece-seconds", "7", "--preset", "debug"]
ARGS += ["--max-steps", "2"]
ARGS += ["--items-per-category", "1", "--duration", "2", "--device", "cpu"]


def test_build_demo_trains_generates_launches_and_reuses(tmp_path, settings, capsys):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    call_command("build_demo", *ARGS)
    study = Study.objects.get(slug="d")
    assert study.status == Study.Status.LIVE and study.screening
    n_items = study.items.count()
    assert n_items >= 2 and len({i.category for i in study.items.all()}) == n_items
    assert all("test split" in item.source for item in study.items.all())
    assert Clip.objects.filter(item__study=study).count() == 4 * n_items
    assert CheckClip.objects.filter(item__study=study).count() == 8 * n_items
    for system in study.systems.all():
        assert system.checkpoint.preset == "debug" and system.checkpoint.step == 2
        assert (tmp_path / "demo" / "runs").as_posix() in system.checkpoint.path
    out = capsys.readouterr().out
    assert "Participant URL:" in out and "/s/d/" in out and "password:" in out
    assert "training the debug preset" in out

    call_command("build_demo", *ARGS)  # a second run reuses everything
    out = capsys.readouterr().out
    assert "training" not in out and "reusing" in out
    assert Clip.objects.filter(item__study=study).count() == 4 * n_items
    assert GenerationJob.objects.order_by("-pk").first().total == 0
