import filecmp
import wave

import numpy as np
import pretty_midi
import pytest

from foley_models.data import dataset
from foley_models.data.motion_onsets import detect_onsets
from foley_models.data.synth import music, performer
from foley_models.render.ffmpeg import probe
from foley_models.render.fluidsynth import Renderer


def test_synth_writes_a_valid_dataset_with_all_files(small_synth):
    root, rows = small_synth
    assert [r.split for r in rows] == ["train", "val", "test"]
    assert [r.instrument for r in rows] == ["violin"] * 3
    read = dataset.read_index(root)
    assert [r.id for r in read] == [r.id for r in rows]
    for r in read:
        pose = dataset.load_pose(root, r)
        assert pose.shape[1:] == (3, 65, 1) and r.layout == "body65" and r.fps == 22.0
        assert pose.shape[0] == round(r.duration_s * 22)
        with wave.open(str(root / r.audio)) as w:
            assert w.getnchannels() == 1 and w.getframerate() == 22050
            assert abs(w.getnframes() / 22050 - r.duration_s) < 0.05
            audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert np.abs(audio).max() > 1000  # not silent
        pm = pretty_midi.PrettyMIDI(str(root / r.midi))
        (inst,) = pm.instruments
        assert inst.program == 40  # GM violin
        low, high = music.RANGES[r.instrument]
        assert all(low <= n.pitch <= high for n in inst.notes)
        video = probe(root / r.video)
        (stream,) = video["streams"]
        assert stream["codec_name"] == "h264"
        assert abs(float(video["format"]["duration"]) - r.duration_s) < 0.1
    assert not list(root.rglob(".partial-*"))


def test_splits_share_no_piece_and_no_performer(small_synth):
    _, rows = small_synth
    pools = performer.piece_pools(5)
    for r in rows:
        assert r.extra["piece"] in pools[r.split]
        assert r.extra["performer"] in performer.performer_ids(r.split)
    assert not set(pools["train"]) & (set(pools["val"]) | set(pools["test"]))
    assert not set(performer.performer_ids("train")) & set(performer.performer_ids("test"))


def test_the_same_seed_gives_the_same_files(small_synth, tmp_path):
    root, rows = small_synth
    config = performer.SynthConfig(minutes=1.2, seed=5, max_piece_s=25.0, instruments=("violin",))
    again = performer.synthesize(tmp_path, config, progress=False)
    assert [r.id for r in again] == [r.id for r in rows]
    for r in rows:
        for name in (r.pose, r.midi, r.audio, r.video):
            assert filecmp.cmp(root / name, tmp_path / name, shallow=False), name
    assert (root / "index.csv").read_bytes() == (tmp_path / "index.csv").read_bytes()


def test_videos_for_some_splits_only_leave_everything_else_as_it_was(small_synth, tmp_path):
    root, rows = small_synth
    config = performer.SynthConfig(
        minutes=1.2, seed=5, max_piece_s=25.0, instruments=("violin",), video_splits=("test",)
    )
    again = performer.synthesize(tmp_path, config, progress=False)
    assert [(r.split, bool(r.video)) for r in again] == [
        ("train", False),
        ("val", False),
        ("test", True),
    ]
    assert sorted(p.name for p in (tmp_path / "video").iterdir()) == [f"{again[2].id}.mp4"]
    for r in rows:
        names = (r.pose, r.midi, r.audio, r.video) if r.split == "test" else (r.pose, r.audio)
        for name in names:
            assert filecmp.cmp(root / name, tmp_path / name, shallow=False), name


def test_another_seed_gives_other_performances(tmp_path, soundfont):
    config = performer.SynthConfig(minutes=0.1, seed=6, video=False, max_piece_s=10.0)
    row = performer.make_performance(0, config, performer.piece_pools(6), Renderer(), tmp_path)
    other = performer.make_performance(
        0,
        performer.SynthConfig(minutes=0.1, seed=7, video=False, max_piece_s=10.0),
        performer.piece_pools(7),
        Renderer(),
        tmp_path / "b",
    )
    assert not np.array_equal(np.load(tmp_path / row.pose), np.load(tmp_path / "b" / other.pose))


@pytest.mark.parametrize("instrument", ["piano", "violin", "cello", "guitar"])
def test_motion_carries_the_music_onsets_detected_from_keypoints_alone(
    tmp_path, instrument, soundfont
):
    """The ground truth is real: >= 80% of note onsets recovered within 100 ms from keypoints."""
    config = performer.SynthConfig(
        minutes=1, seed=11, instruments=(instrument,), video=False, max_piece_s=40.0
    )
    pools, renderer = performer.piece_pools(11), Renderer()
    recalls, precisions = [], []
    for index in range(3):
        row = performer.make_performance(index, config, pools, renderer, tmp_path)
        pose = np.load(tmp_path / row.pose)
        notes = pretty_midi.PrettyMIDI(str(tmp_path / row.midi)).instruments[0].notes
        truth = np.array(sorted(n.start for n in notes))
        found = detect_onsets(pose, row.fps, instrument)
        recalls.append(np.mean([np.abs(found - t).min() <= 0.1 for t in truth]))
        precisions.append(np.mean([np.abs(truth - f).min() <= 0.1 for f in found]))
    assert min(recalls) >= 0.8, recalls
    assert min(precisions) >= 0.8, precisions


def test_shuffled_motion_does_not_explain_the_onsets(tmp_path, soundfont):
    """Control: onsets detected in one performance's motion do not match another's notes."""
    config = performer.SynthConfig(
        minutes=1, seed=12, instruments=("piano",), video=False, max_piece_s=30.0
    )
    pools, renderer = performer.piece_pools(12), Renderer()
    a = performer.make_performance(0, config, pools, renderer, tmp_path)
    b = performer.make_performance(3, config, pools, renderer, tmp_path)
    found = detect_onsets(np.load(tmp_path / a.pose), a.fps, "piano")
    other = np.array(
        [n.start for n in pretty_midi.PrettyMIDI(str(tmp_path / b.midi)).instruments[0].notes]
    )
    other = other[other < found.max()]
    mismatched = np.mean([np.abs(found - t).min() <= 0.1 for t in other])
    own = np.array(
        [n.start for n in pretty_midi.PrettyMIDI(str(tmp_path / a.midi)).instruments[0].notes]
    )
    matched = np.mean([np.abs(found - t).min() <= 0.1 for t in own])
    assert matched > mismatched + 0.2


def test_unknown_instruments_and_bad_minutes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not 'banjo'"):
        performer.synthesize(
            tmp_path, performer.SynthConfig(minutes=1, instruments=("banjo",)), progress=False
        )
    with pytest.raises(ValueError, match="--minutes must be positive"):
        performer.synthesize(tmp_path, performer.SynthConfig(minutes=0), progress=False)


@pytest.mark.parametrize("instrument", ["piano", "guitar"])
def test_the_playing_fingertip_is_on_the_notes_key_or_fret_at_the_onset(instrument):
    """The pitch is in the motion: at each onset a fingertip of the playing hand (piano: the
    note's hand; guitar: the fretting hand) is exactly at the note's key or place on the neck."""
    from foley_models.data.layouts import FINGERTIPS, L_HAND_OFFSET, R_HAND_OFFSET
    from foley_models.data.synth import motion

    noiseless = motion.Performer(
        size=1.0, px_per_bu=1.0, origin=(0.0, 0.0), sway_amp=0.0, sway_hz=0.2, sway_phase=0.0,
        jitter_px=0.0, dropout=0.0, confidence=0.9,
    )  # fmt: skip
    chords = [(0.5, (48, 60, 64, 67)), (1.3, (50, 62, 65, 69)), (2.0, (43, 59, 62, 67))]
    notes = [
        music.PerformedNote(start + 0.03 * i, start + 0.6, pitch, 80, 0 if pitch < 55 else 1)
        for start, chord in chords
        for i, pitch in enumerate(chord)
    ]
    fps = 22.0
    rng = np.random.default_rng(0)
    pose, _ = motion.perform_motion(notes, instrument, 3.0, fps, noiseless, rng)
    xy = pose[:, :2, :, 0]  # [T, 2, 65] in BU: neck at the origin, one pixel per BU
    checked = 0
    for n in notes:
        frame = int(np.ceil(n.start * fps))
        if instrument == "piano":
            offset = L_HAND_OFFSET if n.hand == 0 else R_HAND_OFFSET
            place = np.array([1.45 - 2.9 * (n.pitch - 21) / 87, np.nan])
        else:  # the fretting hand is the left hand
            offset = L_HAND_OFFSET
            nut, hole = np.array([1.0, 0.42]), np.array([-0.2, 0.86])
            place = nut + (0.1 + 0.55 * (n.pitch - 40) / 36) * (hole - nut)
        tips = xy[frame][:, [offset + p for p in FINGERTIPS]].T  # [5, 2]
        if instrument == "piano":
            distance = np.abs(tips[:, 0] - place[0]).min()  # the depth is the strike's
        else:
            distance = np.linalg.norm(tips - place, axis=1).min()
        assert distance < 1e-4, (instrument, n, distance)
        checked += 1
    assert checked == len(notes)
