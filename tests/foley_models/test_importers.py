"""Importers, each on small fixtures written here in the source format."""

import json

import numpy as np
import pretty_midi
import pytest

from foley_models.cli import main
from foley_models.data import dataset
from foley_models.data.dataset import DatasetError
from foley_models.data.layouts import L_HAND_OFFSET, R_HAND_OFFSET

pytestmark = pytest.mark.media


def _midi(path, pitches=(60, 64, 67)):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program=40)
    inst.notes = [
        pretty_midi.Note(velocity=80, pitch=p, start=i * 0.5, end=i * 0.5 + 0.4)
        for i, p in enumerate(pitches)
    ]
    pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def _openpose_folder(folder, frames=12, people=2, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    truth = []
    for f in range(frames):
        persons, frame_truth = [], []
        for m in range(people):
            conf_scale = 1.0 if m == 1 else 0.3  # person 1 is the confident one
            body = np.c_[rng.uniform(0, 640, (25, 2)), rng.uniform(0.5, 1, 25) * conf_scale]
            left = np.c_[rng.uniform(0, 640, (21, 2)), rng.uniform(0.5, 1, 21)]
            right = np.c_[rng.uniform(0, 640, (21, 2)), rng.uniform(0.5, 1, 21)]
            persons.append(
                {
                    "person_id": [-1],
                    "pose_keypoints_2d": body.ravel().tolist(),
                    "hand_left_keypoints_2d": left.ravel().tolist(),
                    "hand_right_keypoints_2d": right.ravel().tolist(),
                }
            )
            frame_truth.append((body, left, right))
        (folder / f"{folder.name}_{f:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": persons})
        )
        truth.append(frame_truth)
    return truth


def test_import_openpose_builds_body65_from_body_and_hands(tmp_path):
    truth = _openpose_folder(tmp_path / "kp" / "perf1")
    _midi(tmp_path / "midi" / "perf1.mid")
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "perf1.mp4").write_bytes(b"not checked")
    code = main(
        [
            "dataset",
            "import-openpose",
            "--keypoints",
            str(tmp_path / "kp"),
            "--out",
            str(tmp_path / "ds"),
            "--instrument",
            "violin",
            "--fps",
            "30",
            "--midi",
            str(tmp_path / "midi"),
            "--video",
            str(tmp_path / "video"),
        ]
    )
    assert code == 0
    (row,) = dataset.read_index(tmp_path / "ds")
    assert (row.id, row.fps, row.layout, row.midi, row.video) == (
        "perf1",
        30.0,
        "body65",
        "midi/perf1.mid",
        "video/perf1.mp4",
    )
    pose = dataset.load_pose(tmp_path / "ds", row)
    assert pose.shape == (12, 3, 65, 1)
    body, left, right = truth[3][1]  # the most confident person is kept
    np.testing.assert_allclose(pose[3, :, :25, 0], body.T, rtol=1e-6)
    np.testing.assert_allclose(
        pose[3, :, L_HAND_OFFSET + 1 : L_HAND_OFFSET + 21, 0], left[1:].T, rtol=1e-6
    )
    np.testing.assert_allclose(
        pose[3, :, R_HAND_OFFSET + 1 : R_HAND_OFFSET + 21, 0], right[1:].T, rtol=1e-6
    )


def test_import_openpose_transcribes_the_recording_of_a_performance_without_midi(tmp_path, capsys):
    from foley_models import metrics
    from foley_models.render.audio_io import write_wav
    from foley_models.render.fluidsynth import Renderer

    _openpose_folder(tmp_path / "kp" / "perf1", frames=12)
    _openpose_folder(tmp_path / "kp" / "perf2", frames=12)
    notes = [pretty_midi.Note(90, p, 0.3 + 0.5 * i, 0.7 + 0.5 * i) for i, p in
             enumerate([60, 62, 64, 65, 67, 69, 71, 72])]  # fmt: skip
    (tmp_path / "audio").mkdir()
    write_wav(tmp_path / "audio" / "perf1.wav", Renderer(44100).render(notes, "piano"), 44100)
    argv = ["dataset", "import-openpose", "--keypoints", str(tmp_path / "kp"), "--out",
            str(tmp_path / "ds"), "--instrument", "piano", "--fps", "30", "--audio",
            str(tmp_path / "audio"), "--transcribe"]  # fmt: skip
    # perf2 has no recording: transcribing it is an error that names it.
    assert main(argv) == 2
    assert "perf2: --transcribe needs its recording" in capsys.readouterr().err
    (tmp_path / "kp" / "perf2").rename(tmp_path / "kp2")
    assert main(argv) == 0
    (row,) = dataset.read_index(tmp_path / "ds")
    assert (row.audio, row.midi) == ("audio/perf1.wav", "midi/perf1.mid")
    found = dataset.load_midi(tmp_path / "ds" / row.midi)
    assert found.instruments[0].program == 0  # the instrument's GM program
    est = found.instruments[0].notes
    matched = metrics.note_matches(notes, est)
    assert matched >= 7 and len(est) <= 10


def test_import_openpose_names_a_malformed_frame(tmp_path, capsys):
    _openpose_folder(tmp_path / "kp" / "perf1", frames=3)
    bad = sorted((tmp_path / "kp" / "perf1").glob("*.json"))[1]
    bad.write_text('{"people": [{"pose_keypoints_2d": [1, 2, 3]}]}')
    code = main(
        [
            "dataset",
            "import-openpose",
            "--keypoints",
            str(tmp_path / "kp"),
            "--out",
            str(tmp_path / "ds"),
            "--instrument",
            "violin",
            "--fps",
            "30",
        ]
    )
    assert code == 2
    assert bad.name in capsys.readouterr().err
    assert not (tmp_path / "ds" / "index.csv").exists()


def _release(tmp_path, train=("a", "b"), val=("c",), frames=44):
    rng = np.random.default_rng(0)
    for name, vids in (("train.csv", train), ("val.csv", val)):
        lines = ["vid,start_time,duration"] + [f"{v},0.0,{frames / 22}" for v in vids]
        (tmp_path / "split").mkdir(exist_ok=True)
        (tmp_path / "split" / name).write_text("\n".join(lines) + "\n")
    for v in (*train, *val):
        pose = rng.uniform(0, 1, (frames, 3, 65, 1)).astype(np.float32)
        (tmp_path / "pose").mkdir(exist_ok=True)
        np.save(tmp_path / "pose" / f"{v}.npy", pose)
        _midi(tmp_path / "midi" / f"{v}.midi")


def _release_args(tmp_path):
    return [
        "dataset",
        "import-foley-release",
        "--split-csv-dir",
        str(tmp_path / "split"),
        "--pose-dir",
        str(tmp_path / "pose"),
        "--midi-dir",
        str(tmp_path / "midi"),
        "--out",
        str(tmp_path / "ds"),
        "--instrument",
        "violin",
    ]


def test_import_foley_release_keeps_poses_and_maps_val_to_test(tmp_path):
    _release(tmp_path)
    assert main(_release_args(tmp_path)) == 0
    rows = {r.id: r for r in dataset.read_index(tmp_path / "ds")}
    assert {k: r.split for k, r in rows.items()} == {"a": "train", "b": "train", "c": "test"}
    assert rows["a"].duration_s == 2.0 and rows["a"].fps == 22.0
    np.testing.assert_array_equal(
        dataset.load_pose(tmp_path / "ds", rows["c"]), np.load(tmp_path / "pose" / "c.npy")
    )
    assert dataset.load_midi(tmp_path / "ds" / rows["c"].midi).instruments[0].notes


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda p: (p / "pose" / "b.npy").unlink(), "b.npy: pose file named by the split CSVs"),
        (lambda p: (p / "midi" / "c.midi").write_bytes(b"MThd garbage"), "c.midi: not a readable"),
        (
            lambda p: np.save(p / "pose" / "a.npy", np.zeros((5, 3, 25, 1), np.float32)),
            "does not match layout body65",
        ),
        (
            lambda p: np.save(p / "pose" / "a.npy", np.full((5, 3, 65, 1), np.nan, np.float32)),
            "NaN",
        ),
        (
            lambda p: (p / "split" / "val.csv").write_text("vid,start_time,duration\na,0,2\n"),
            "'a' is in both train and val",
        ),
    ],
)
def test_bad_release_input_gets_an_error_naming_the_file(tmp_path, capsys, break_it, message):
    _release(tmp_path)
    break_it(tmp_path)
    assert main(_release_args(tmp_path)) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.rglob(".partial-*"))


def test_read_index_names_the_line_at_fault(tmp_path):
    _release(tmp_path)
    main(_release_args(tmp_path))
    index = tmp_path / "ds" / "index.csv"
    text = index.read_text()
    index.write_text(text.replace(",violin,", ",banjo,", 1))
    with pytest.raises(DatasetError, match=r"index.csv:2: unknown instrument 'banjo'"):
        dataset.read_index(tmp_path / "ds")
    index.write_text(text)
    (tmp_path / "ds" / "pose" / "b.npy").unlink()
    with pytest.raises(DatasetError, match=r"index.csv:3: pose file .*b.npy is missing"):
        dataset.read_index(tmp_path / "ds")
    index.write_text("id,instrument\nx,piano\n")
    with pytest.raises(DatasetError, match="missing columns split, fps"):
        dataset.read_index(tmp_path / "ds")


def test_stats_command_prints_minutes_notes_and_dropout(tmp_path, capsys):
    _release(tmp_path)
    main(_release_args(tmp_path))
    assert main(["dataset", "stats", str(tmp_path / "ds")]) == 0
    out = capsys.readouterr().out
    assert "violin" in out and "test" in out and "notes_per_s" in out and "dropout_rate" in out
    assert main(["dataset", "stats", str(tmp_path / "nowhere")]) == 2
    assert "no index.csv" in capsys.readouterr().err


def test_an_interrupted_video_leaves_no_file(tmp_path):
    from foley_models.render.ffmpeg import VideoWriter

    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "v.mp4", width=32, height=32, fps=22) as writer:
            writer.write(bytes(32 * 32 * 3))
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
