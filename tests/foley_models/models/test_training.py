import csv

import numpy as np
import pretty_midi
import pytest

from foley_models.cli import main
from foley_models.models import checkpoint
from foley_models.render.audio_io import read_wav


def _train(tiny_dataset, out, *extra):
    return main(
        [
            "train",
            "foley_music",
            "--data",
            str(tiny_dataset),
            "--preset",
            "debug",
            "--out",
            str(out),
            "--device",
            "cpu",
            "--val-every",
            "4",
            *extra,
        ]
    )


def test_training_writes_best_last_and_a_log_and_resumes(tiny_dataset, tmp_path):
    assert _train(tiny_dataset, tmp_path, "--max-steps", "4") == 0
    last = checkpoint.load(tmp_path / "last.pt")
    best = checkpoint.load(tmp_path / "best.pt")
    assert (last["system"], last["preset"], last["step"]) == ("foley_music", "debug", 4)
    assert "train_state" in last and "train_state" not in best
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert any(r["metric"] == "val_accuracy" for r in rows)
    assert _train(tiny_dataset, tmp_path, "--max-steps", "8", "--resume") == 0
    assert checkpoint.load(tmp_path / "last.pt")["step"] == 8
    steps = [
        int(r["step"])
        for r in csv.DictReader((tmp_path / "log.csv").open())
        if r["metric"] == "val_loss"
    ]
    assert steps == [4, 8]


def test_a_cpu_time_budget_stops_the_run_validated_and_saved(tiny_dataset, tmp_path):
    # A budget far below one step's CPU time: the run stops after its first step, and that
    # step is validated and saved like the end of a run.
    assert _train(tiny_dataset, tmp_path, "--max-steps", "50", "--max-cpu-minutes", "1e-6") == 0
    assert checkpoint.load(tmp_path / "last.pt")["step"] == 1
    assert (tmp_path / "best.pt").exists()


def test_resuming_gives_the_same_weights_as_training_straight_through(tiny_dataset, tmp_path):
    _train(tiny_dataset, tmp_path / "a", "--max-steps", "8")
    _train(tiny_dataset, tmp_path / "b", "--max-steps", "4")
    _train(tiny_dataset, tmp_path / "b", "--max-steps", "8", "--resume")
    a = checkpoint.load(tmp_path / "a" / "last.pt")["model"]
    b = checkpoint.load(tmp_path / "b" / "last.pt")["model"]
    for name in a:
        assert np.allclose(a[name].numpy(), b[name].numpy(), atol=1e-6), name


def test_generate_and_evaluate_commands(tiny_dataset, tmp_path, capsys):
    _train(tiny_dataset, tmp_path / "run", "--max-steps", "2")
    ckpt = tmp_path / "run" / "best.pt"
    pose = tiny_dataset / "pose" / "piano-00000.npy"
    code = main(
        [
            "generate",
            "--checkpoint",
            str(ckpt),
            "--pose",
            str(pose),
            "--instrument",
            "piano",
            "--out",
            str(tmp_path / "o.wav"),
            "--midi",
            str(tmp_path / "o.mid"),
            "--device",
            "cpu",
        ]
    )
    assert code == 0 and (tmp_path / "o.wav").stat().st_size > 1000
    assert (tmp_path / "o.mid").exists()
    # A part of the performance, in the model's 2 s windows, at the rate asked for.
    part = ["generate", "--checkpoint", str(ckpt), "--pose", str(pose), "--instrument", "piano",
            "--out", str(tmp_path / "p.wav"), "--midi", str(tmp_path / "p.mid"), "--device",
            "cpu", "--start", "1.0", "--duration", "5.0", "--sample-rate", "44100"]  # fmt: skip
    assert main(part) == 0
    audio, rate = read_wav(tmp_path / "p.wav")
    assert rate == 44100 and abs(len(audio) / rate - 5.0) < 0.05
    assert "3 windows of 2 s" in capsys.readouterr().out
    midi = pretty_midi.PrettyMIDI(str(tmp_path / "p.mid"))
    assert all(n.start < 5.0 for inst in midi.instruments for n in inst.notes)
    outside = [*part[:-4], "--start", "999"]
    assert main(outside) != 0
    assert "lie outside" in capsys.readouterr().err
    code = main(
        [
            "evaluate",
            "--data",
            str(tiny_dataset),
            "--split",
            "val",
            "--checkpoint",
            str(ckpt),
            "--max-clips",
            "4",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "m.json"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "shuffled_onset_f1" in out and "foley_music" in out
    assert (tmp_path / "m.json").exists()


def test_evaluate_puts_midi_and_waveform_systems_in_one_table(tiny_dataset, tmp_path, capsys):
    import json

    _train(tiny_dataset, tmp_path / "fm", "--max-steps", "2")
    for system in ("gan", "samplernn"):
        argv = ["train", system, "--data", str(tiny_dataset), "--preset", "debug", "--out"]
        argv += [str(tmp_path / system), "--max-steps", "1", "--device", "cpu"]
        assert main(argv) == 0
    checkpoints = [str(tmp_path / name / "best.pt") for name in ("fm", "gan", "samplernn")]
    argv = ["evaluate", "--data", str(tiny_dataset), "--split", "val", "--checkpoint"]
    argv += [*checkpoints, "--max-clips", "4", "--device", "cpu", "--out"]
    assert main([*argv, str(tmp_path / "m.json")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    table = lines[[i for i, line in enumerate(lines) if line.split()[0] == "system"][0] :]
    assert "audio_onset_f1" in table[0] and "logmel_db" in table[0]
    names = [line.split()[0] for line in table[1:]]
    assert names == ["foley_music", "gan", "samplernn", "reference"]
    rows = json.loads((tmp_path / "m.json").read_text())
    assert {r["clip_s"] for r in rows} == {1.0}  # the shortest training clip, for all
    beat_keys = ["beat_align", "beat_align_music", "beats_loris_coverage_1s", "beats_loris_hit_1s",
                 "beats_loris_f1_1s", "beats_d2m_hit_0.25s", "transcribed_note_f1"]  # fmt: skip
    for r in rows:
        assert r["clips"] == 4
        for key in ("audio_onset_f1", "shuffled_audio_onset_f1", *beat_keys):
            assert 0.0 <= r[key] <= 1.0, key
        assert r["beats_d2m_coverage_1s"] >= 0.0  # may exceed 1
    for r in rows[:3]:
        assert r["logmel_db"] > 0 and r["shuffled_logmel_db"] > 0
    assert rows[0]["onset_f1"] is not None and rows[1]["onset_f1"] is None
    assert table[2].split()[6] == "-"  # no MIDI scores for the GAN
    # The recordings themselves: their onsets and notes are found, their beats hit every bin.
    reference = rows[3]
    assert reference["audio_onset_f1"] > 0.6 and reference["transcribed_note_f1"] > 0.5
    assert reference["beats_loris_hit_1s"] > 0.8 and reference["logmel_db"] is None
    # A sampling temperature reaches the sample-level system, is kept in its row, and leaves
    # the others alone; a temperature of 0 is refused.
    cooler = [*argv, str(tmp_path / "t.json"), "--temperature", "0.3", "--no-reference"]
    assert main(cooler) == 0
    capsys.readouterr()
    cool = json.loads((tmp_path / "t.json").read_text())
    assert [r.get("temperature") for r in cool] == [None, None, 0.3]
    assert cool[2]["logmel_db"] != rows[2]["logmel_db"]
    assert cool[0]["logmel_db"] == rows[0]["logmel_db"]
    assert main([*argv, str(tmp_path / "z.json"), "--temperature", "0"]) == 2
    assert "temperature must be above 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "nosuch", "--data", "x", "--out", "y"], "unknown system 'nosuch'"),
        (["train", "wavenet", "--data", "missing", "--out", "y"], "missing"),
        (
            [
                "generate",
                "--checkpoint",
                "missing.pt",
                "--pose",
                "p.npy",
                "--instrument",
                "piano",
                "--out",
                "o.wav",
            ],
            "not a readable .npy",
        ),
    ],
)
def test_model_commands_report_user_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_every_system_picks_its_presets_through_one_helper():
    from foley_models.models.presets import NAMES
    from foley_models.models.registry import system_module

    for system in ("foley_music", "wavenet", "samplernn", "gan"):
        preset = system_module(system, "config").preset
        configs = {name: preset(name) for name in NAMES}
        assert len({repr(c) for c in configs.values()}) == 3, system
        assert preset("debug", batch_size=3).batch_size == 3
        with pytest.raises(ValueError, match="unknown preset 'huge'; use debug, small, paper"):
            preset("huge")
