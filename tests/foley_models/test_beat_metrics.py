"""Beat metrics on constructed cases: aligned pairs score the maximum, offsets lower the score
monotonically, random onsets score near chance."""

import numpy as np
import pytest

from foley_models import metrics as beats

FPS = 22.0


def _pose_pausing_at(pause_s: list[float], seconds: float, fps: float = FPS) -> np.ndarray:
    """A body65-shaped pose whose keypoints move at constant speed except for a slow-down to a
    stop at each pause time (a hand striking and turning back)."""
    t = np.arange(int(round(seconds * fps))) / fps
    speed = np.ones_like(t)
    for p in pause_s:
        speed *= 1 - np.exp(-((t - p) ** 2) / (2 * 0.08**2))
    position = np.cumsum(speed) * 5.0
    pose = np.zeros((len(t), 3, 65, 1))
    pose[:, 0, :, 0] = position[:, None]
    pose[:, 1, :, 0] = 100.0
    pose[:, 2] = 1.0
    return pose


def test_motion_beats_are_the_pauses_of_the_motion():
    pauses = [0.7, 1.6, 2.4, 3.5]
    found = beats.motion_beats(_pose_pausing_at(pauses, 4.5), FPS)
    assert len(found) == len(pauses)
    assert np.max(np.abs(found - pauses)) <= 1 / FPS + 1e-9


def test_a_detection_drop_out_is_neither_a_jump_nor_a_beat():
    pose = _pose_pausing_at([1.0, 2.0], 3.0)
    clean = beats.motion_beats(pose, FPS)
    pose[30:33, 2, :, 0] = 0.0  # the detector lost every keypoint mid-stroke
    pose[30:33, :2, :, 0] = 0.0  # and wrote zeros there
    assert beats.motion_envelope(pose).max() <= 5.0 * 65 + 1e-6  # no jump to (0, 0) and back
    assert np.array_equal(beats.motion_beats(pose, FPS), clean)  # and no pause either


def test_beat_align_is_one_when_aligned_and_falls_monotonically_with_offset():
    motion = np.array([0.5, 1.1, 1.9, 2.6, 3.3])
    assert beats.beat_align(motion, motion) == pytest.approx(1.0)
    assert beats.beat_align_music(motion, motion) == pytest.approx(1.0)
    scores = [beats.beat_align(motion, motion + d) for d in (0.0, 0.02, 0.05, 0.1, 0.2)]
    assert all(a > b for a, b in zip(scores, scores[1:], strict=False))
    assert scores[2] == pytest.approx(np.exp(-0.5))  # one sigma away: exp(-1/2)
    music = np.sort(np.concatenate([motion + 0.01, [0.8, 2.2]]))  # extra music beats
    assert beats.beat_align(motion, music) > beats.beat_align_music(motion, music)


def test_random_onsets_score_near_chance():
    rng = np.random.default_rng(0)
    duration, n = 30.0, 60
    motion = np.sort(rng.uniform(0, duration, n))
    random_scores = [
        beats.beat_align(motion, np.sort(rng.uniform(0, duration, n))) for _ in range(50)
    ]
    # Chance for 2 beats/s with sigma 50 ms: about sqrt(2 pi) sigma x rate x 2 sides ~ 0.4.
    assert 0.2 < np.mean(random_scores) < 0.5
    assert beats.beat_align(motion, motion) == 1.0


def test_beats_coverage_and_hit_in_both_definitions():
    truth = np.array([0.2, 1.3, 2.5, 3.7])
    same = beats.beats_coverage_hit(truth, truth, 4.0)
    assert same == {"loris_coverage": 1.0, "loris_hit": 1.0, "loris_f1": 1.0,
                    "d2m_coverage": 1.0, "d2m_hit": 1.0}  # fmt: skip
    # Generated onsets in bins 0, 1 and 2 only, plus many in bin 2: binarised per bin.
    generated = np.array([0.5, 1.9, 2.1, 2.2, 2.3])
    r = beats.beats_coverage_hit(truth, generated, 4.0)
    assert r["loris_coverage"] == 1.0 and r["loris_hit"] == 0.75 and r["d2m_coverage"] == 0.75
    assert r["loris_f1"] == pytest.approx(2 * 0.75 / 1.75)
    # A generator firing in every bin covers everything: D2M's coverage exceeds 1.
    busy = beats.beats_coverage_hit(truth[:2], np.arange(4) + 0.5, 4.0)
    assert busy["d2m_coverage"] == 2.0 and busy["loris_coverage"] == 0.5
    assert beats.beats_coverage_hit(truth, np.array([]), 4.0)["loris_f1"] == 0.0


def test_hit_at_the_finer_bin_falls_monotonically_with_offset():
    rng = np.random.default_rng(1)
    truth = np.sort(rng.uniform(0, 20, 40))
    hits = [
        beats.beats_coverage_hit(truth, truth + d, 21.0, bin_s=0.25)["loris_hit"]
        for d in (0.0, 0.04, 0.08, 0.16, 0.24)
    ]
    assert hits[0] == 1.0
    assert all(a >= b for a, b in zip(hits, hits[1:], strict=False)) and hits[-1] < hits[0]


def test_motion_onset_align_peaks_near_zero_offset_on_synthetic_performances(tmp_path):
    """The performer's motion and its own MIDI: aligned scores clearly above shifted ones."""
    from foley_models.data import dataset
    from foley_models.data.synth.performer import SynthConfig, synthesize

    synthesize(tmp_path, SynthConfig(minutes=0.6, seed=4, video=False, max_piece_s=8.0,
                                     instruments=("piano", "violin")), progress=False)  # fmt: skip
    for p in dataset.read_index(tmp_path):
        pose = dataset.load_pose(tmp_path, p)
        midi = dataset.load_midi(tmp_path / p.midi)
        onsets = beats.unique_onsets([n.start for i in midi.instruments for n in i.notes])
        aligned = beats.motion_onset_align(pose, p.fps, p.instrument, onsets)
        late = beats.motion_onset_align(pose, p.fps, p.instrument, onsets + 0.15)
        assert aligned > 0.4 and aligned > late + 0.2, (p.id, aligned, late)
    assert beats.motion_onset_align(pose, p.fps, "theremin", onsets) is None
