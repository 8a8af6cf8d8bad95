"""The launch audit of every clip's sound: bit-identical soundtracks, silence and clipping."""

import numpy as np
import pytest

from foley_models.render import ffmpeg
from foley_models.render.audio_io import write_wav
from studies import services
from studies.errors import StudyNotReady
from studies.models import Clip
from studies.stimuli.audit import audio_audit, audit_problems, file_audit
from tests.factories import make_study

pytestmark = pytest.mark.media

RATE = 16_000


def test_the_audit_tells_silence_clipping_and_identity_apart():
    t = np.arange(RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    other = 0.3 * np.sin(2 * np.pi * 220 * t)
    audits = [
        ("a", "x", audio_audit(tone)),
        ("b", "x", audio_audit(tone)),  # the same audio for another item
        ("c", "x", audio_audit(np.zeros(RATE))),
        ("d", "x", audio_audit(np.clip(5 * tone, -1, 1))),
        ("e", "x", audio_audit(other)),
        ("e", "y", audio_audit(other)),  # two versions of one item may share a soundtrack
    ]
    problems = audit_problems(audits)
    assert any("'a'/'x', 'b'/'x' have bit-identical soundtracks" in p for p in problems)
    assert any("'c'/'x' is silent" in p for p in problems)
    assert any("'d'/'x' is clipped" in p for p in problems)
    assert not any("'e'/'x'" in p for p in problems)
    assert len(problems) == 3


def test_two_encodes_of_one_soundtrack_under_different_videos_are_caught(tmp_path):
    """Identity is judged on the decoded sound, not the file: the videos differ."""
    t = np.arange(2 * 44_100) / 44_100
    wav = write_wav(tmp_path / "a.wav", 0.2 * np.sin(2 * np.pi * 330 * t), 44_100)
    videos = []
    for n, colour in enumerate(("red", "blue")):
        video = tmp_path / f"v{n}.mp4"
        ffmpeg.run_ffmpeg(
            ["-f", "lavfi", "-i", f"color=c={colour}:s=64x64:d=2:r=10", "-pix_fmt", "yuv420p"],
            video,
        )
        videos.append(ffmpeg.mux_clip(video, wav, tmp_path / f"clip{n}.mp4"))
    assert videos[0].read_bytes() != videos[1].read_bytes()
    assert file_audit(videos[0])["sha256"] == file_audit(videos[1])["sha256"]


@pytest.mark.django_db
def test_launch_refuses_a_study_whose_clips_share_a_soundtrack(media_library, settings):
    settings.MEDIA_ROOT = media_library.root
    study = make_study(slug="copied", launch=False, with_checks=False, n_items=2)
    first, second = (Clip.objects.filter(item__key=k).first() for k in ("item-0", "item-1"))
    second.media = first.media.name  # the same file under another item's clip
    second.save()
    with pytest.raises(StudyNotReady) as caught:
        services.study_launch(study=study)
    # The copy's stale audit (of its old file) was replaced by one of the file it now has.
    assert any(
        "'item-0'/'sys_foley_zq', 'item-1'/'sys_foley_zq' have bit-identical" in p
        for p in caught.value.problems
    ), caught.value.problems
