import numpy as np
import pytest
from django.core.management import CommandError, call_command

from foley_models.render import ffmpeg
from studies import services
from studies.models import Item

pytestmark = pytest.mark.django_db


def test_import_items_cuts_video_pose_audio_and_midi(stimuli_dataset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = services.study_create(title="i", slug="i", systems=[("a", "A"), ("b", "B")])
    call_command(
        "import_items", "i", "--data", str(stimuli_dataset), "--per-category", "2",
        "--duration", "3",
    )  # fmt: skip
    items = list(Item.objects.filter(study=study))
    assert sorted(i.category for i in items) == ["piano", "piano", "violin", "violin"]
    for item in items:
        assert item.fps == 22.0 and abs(item.duration_s - 66 / 22) < 1e-9
        pose = np.load(settings.MEDIA_ROOT / item.pose.name)
        assert pose.shape[0] == 66 and pose.dtype == np.float32
        info = ffmpeg.probe(settings.MEDIA_ROOT / item.video.name)
        assert [s["codec_type"] for s in info["streams"]] == ["video"]
        assert int(info["streams"][0]["nb_frames"]) == 66
        assert item.reference_audio and item.reference_midi and "test split" in item.source
    # Windows of one performance never overlap; running again adds nothing.
    starts = sorted((i.source.split(" from ")[0], float(i.source.split()[2])) for i in items)
    for (a, s1), (b, s2) in zip(starts, starts[1:], strict=False):
        assert a != b or s2 - s1 >= 3.0 - 1e-6
    call_command(
        "import_items",
        "i",
        "--data",
        str(stimuli_dataset),
        "--duration",
        "3",
        "--per-category",
        "2",
    )
    assert Item.objects.filter(study=study).count() == 4
    # Every instrument that cannot be filled is named, not only the first.
    with pytest.raises(CommandError, match="piano: only .* usable 3 s windows .*; violin: only"):
        call_command("import_items", "i", "--data", str(stimuli_dataset), "--per-category", "50",
                     "--duration", "3")  # fmt: skip
    with pytest.raises(CommandError, match=r"guitar \(not in the dataset, which has piano, vio"):
        call_command("import_items", "i", "--data", str(stimuli_dataset), "--categories",
                     "guitar", "violin")  # fmt: skip
    with pytest.raises(CommandError, match="no performances in split 'nosuch'"):
        call_command("import_items", "i", "--data", str(stimuli_dataset), "--split", "nosuch")
