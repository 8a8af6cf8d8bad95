"""Preflight: files that would not play the same way in every browser are named at launch."""

import shutil
import subprocess
from pathlib import Path

import pytest

from studies import services
from studies.errors import StudyNotReady
from studies.models import Clip
from studies.stimuli.preflight import clip_preflight, top_level_boxes
from tests import media_patterns
from tests.factories import make_study

pytestmark = pytest.mark.media

TARGET = -23.0


def _ff(out: Path, *args) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=duration=2:size=160x120:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-shortest", *args, str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_a_platform_clip_passes(tmp_path):
    clip = media_patterns.make_clip_at_loudness(
        tmp_path / "ok.mp4", duration_s=2.0, item_offset_s=0.2, hue=0, voice=1
    )
    assert clip_preflight(clip, target_lufs=TARGET) == []
    assert top_level_boxes(clip)[:2] == ["ftyp", "moov"]


@pytest.mark.parametrize(
    "name, args, problem",
    [
        ("444.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv444p", "-c:a", "aac",
                     "-movflags", "+faststart"], "pixel format 'yuv444p'"),
        ("slow.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
         "not faststart"),
        ("opus.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "libopus",
                      "-movflags", "+faststart"], "audio codec 'opus'"),
        ("vp9.webm", ["-c:v", "libvpx-vp9", "-c:a", "libopus"], "is not an MP4 file"),
        ("quiet.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                       "-af", "volume=-30dB", "-movflags", "+faststart"], "more than 1 LU"),
        ("mute.mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-an"], "has 0 audio streams"),
    ],
)  # fmt: skip
def test_what_would_not_play_everywhere_is_named(tmp_path, name, args, problem):
    problems = clip_preflight(_ff(tmp_path / name, *args), target_lufs=TARGET)
    assert any(problem in p for p in problems), problems


def test_a_corrupt_file_is_named_not_raised(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"junk" * 50)
    problems = clip_preflight(bad, target_lufs=TARGET)
    assert problems and ("cannot be read" in problems[0] or "audio streams" in " ".join(problems))


@pytest.mark.django_db
def test_the_launch_lists_every_preflight_failure_by_item_and_system(tmp_path, settings):
    study = make_study(slug="pre", n_items=2, with_checks=False, launch=False)
    clip = Clip.objects.filter(item__key="item-1").order_by("system_id").first()
    bad = _ff(tmp_path / "444.mp4", "-c:v", "libx264", "-pix_fmt", "yuv444p", "-c:a", "aac",
              "-movflags", "+faststart")  # fmt: skip
    shutil.copy(bad, settings.MEDIA_ROOT / "clips/pre-bad.mp4")
    Clip.objects.filter(pk=clip.pk).update(media="clips/pre-bad.mp4")
    with pytest.raises(StudyNotReady) as raised:
        services.study_launch(study=study)
    label = f"Clip 'item-1'/{clip.system.key!r}"
    named = [p for p in raised.value.problems if p.startswith(label)]
    assert any("pixel format 'yuv444p'" in p for p in named), raised.value.problems
    assert any("H.264 profile 'High 4:4:4 Predictive'" in p for p in named)
    assert not any(p.startswith("Clip 'item-0'") for p in raised.value.problems)
    # A good file again: the launch passes and keeps the result with the clip's file.
    good = Clip.objects.filter(item__key="item-0", system=clip.system).get().media.name
    Clip.objects.filter(pk=clip.pk).update(media=good.replace("lib-0-", "lib-1-"))
    services.study_launch(study=study)
    clip.refresh_from_db()
    assert clip.provenance["preflight"] == {"problems": [], "media": clip.media.name}
