"""Reference and anchor systems: clips made from the items' own recordings by the same
pipeline as every generated clip."""

import numpy as np
import pytest

from foley_models.render import ffmpeg, loudness
from foley_models.render.audio_io import read_wav
from studies import services
from studies.models import Clip, GenerationJob, System
from studies.services import generation_job_create
from studies.stimuli import generation
from studies.stimuli.checkpoints import checkpoint_register
from studies.stimuli.items import items_import
from studies.stimuli.jobs import generation_job_run
from studies.stimuli.sizes import item_version_sizes

pytestmark = pytest.mark.django_db


def _band_energy(audio: np.ndarray, rate: int, low_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    return float(spectrum[freqs >= low_hz].sum() / spectrum.sum())


def test_low_anchor_removes_the_band_above_its_cutoff():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(44100).astype(np.float32) * 0.1
    anchor = generation.low_anchor(noise, 44100)
    assert _band_energy(noise, 44100, 5000) > 0.7
    assert _band_energy(anchor, 44100, 5000) < 1e-3
    # Zero phase: below the cutoff the anchor is the signal itself, not a delayed copy.
    assert np.corrcoef(generation.low_anchor(anchor, 44100), anchor)[0, 1] > 0.99


def test_reference_and_anchor_clips_follow_the_generated_clips_rules(
    stimuli_dataset, debug_checkpoints, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = services.study_create(
        title="MUSHRA",
        slug="mushra-gen",
        design="mushra",
        systems=[
            ("sys_w", "WaveNet", "generated"),
            ("orig", "Original", "reference"),
            ("low", "Anchor", "anchor"),
        ],
        trials_per_session=1,
        check_trials_per_session=0,
    )
    assert [c.key for c in study.criteria.all()] == ["overall"]  # the design's own question
    wavenet = System.objects.get(study=study, key="sys_w")
    wavenet.checkpoint = checkpoint_register(path=debug_checkpoints["wavenet"])
    wavenet.save()
    items_import(
        study=study, data_dir=stimuli_dataset, split="test", per_category=1, duration_s=2.0
    )
    job = generation_job_run(job=generation_job_create(study=study, device="cpu"))
    assert job.status == GenerationJob.Status.DONE, job.errors
    for item in study.items.all():
        clips = {c.system.key: c for c in Clip.objects.filter(item=item).select_related("system")}
        assert set(clips) == {"sys_w", "orig", "low"}
        assert len(set(item_version_sizes(item).values())) == 1  # one byte length
        assert clips["orig"].provenance["made_from"] == "reference recording"
        assert len(clips["orig"].provenance["reference_sha256"]) == 64
        assert clips["low"].provenance["lowpass_hz"] == 3500.0
        levels, highs = {}, {}
        for key, clip in clips.items():
            assert abs(clip.duration_s - clips["sys_w"].duration_s) < 1e-3
            wav = ffmpeg.extract_audio(
                settings.MEDIA_ROOT / clip.media.name, tmp_path / f"{key}.wav", sample_rate=44100
            )
            audio, rate = read_wav(wav)
            levels[key] = loudness.integrated_lufs(audio, rate)
            highs[key] = _band_energy(audio, rate, 5000)
        assert max(levels.values()) - min(levels.values()) <= 0.25, levels
        assert highs["low"] < highs["orig"] / 20, highs
    assert services.study_launch(study=study).status == "live"


def test_a_reference_system_without_recordings_fails_per_item_and_names_the_field(
    stimuli_dataset, debug_checkpoints, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    study = services.study_create(
        title="RoG",
        slug="rog-missing",
        design="real_or_generated",
        systems=[("sys_w", "WaveNet"), ("orig", "Original", "reference")],
        check_trials_per_session=0,
    )
    wavenet = System.objects.get(study=study, key="sys_w")
    wavenet.checkpoint = checkpoint_register(path=debug_checkpoints["wavenet"])
    wavenet.save()
    items_import(
        study=study, data_dir=stimuli_dataset, split="test", per_category=1, duration_s=2.0
    )
    for item in study.items.all():
        item.reference_audio = ""
        item.save()
    job = generation_job_run(job=generation_job_create(study=study, device="cpu", systems=["orig"]))
    failed = [e for e in job.errors if e["system"] == "orig"]
    assert len(failed) == study.items.count()
    assert all("Item.reference_audio" in e["error"] for e in failed)
    assert not Clip.objects.filter(system__key="orig").exists()
