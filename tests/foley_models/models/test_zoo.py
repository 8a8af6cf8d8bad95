"""The demo's model zoo: what the manifest lists is there, unchanged, loads into today's code
and generates; a damaged or outdated zoo is refused with a message that names the file."""

import json
import shutil

import numpy as np
import pytest
import torch

from foley_models import load_generator
from foley_models.models import checkpoint, zoo
from foley_models.models.clips import load_split

SYSTEMS = tuple(zoo.read_manifest()["systems"])


def test_the_zoo_matches_the_code_and_fits_the_size_budget():
    found = zoo.check()
    assert set(found) == set(SYSTEMS) == {"foley_music", "wavenet", "samplernn", "gan"}
    manifest = zoo.read_manifest()["systems"]
    assert sum(e["bytes"] for e in manifest.values()) <= 30e6
    for system, entry in manifest.items():
        assert entry["dtype"] == "float16" and entry["preset"] == "small"
        assert f"train {system}" in entry["training"] and "--preset small" in entry["training"]
        assert "synth" in entry["data"] and "--seed" in entry["data"]
        assert len(entry["commit"]) == 40
        assert "audio_onset_f1" in entry["evaluate"]["row"]
        assert "evaluate" in entry["evaluate"]["command"]


@pytest.mark.parametrize("system", SYSTEMS)
def test_each_zoo_checkpoint_generates_a_clip(system, tiny_dataset):
    generator = load_generator(zoo.path(system), "cpu")
    source = load_split(tiny_dataset, "test")[0]
    pose = source.pose[:22]  # one second
    [out] = generator.generate([pose], source.performance.instrument, seed=0)
    assert len(out.audio) == pytest.approx(out.sample_rate, rel=0.01)
    assert np.isfinite(out.audio).all() and np.abs(out.audio).max() > 0


def _copy(tmp_path):
    shutil.copytree(zoo.ZOO, tmp_path / "zoo")
    return tmp_path / "zoo"


def test_a_changed_file_is_refused_by_its_hash(tmp_path):
    copy = _copy(tmp_path)
    entry = zoo.read_manifest(copy)["systems"][SYSTEMS[0]]
    with (copy / entry["file"]).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(zoo.ZooError, match="sha256"):
        zoo.check(copy)


def test_a_zoo_that_no_longer_matches_the_code_is_refused(tmp_path):
    copy = _copy(tmp_path)
    manifest = zoo.read_manifest(copy)
    entry = manifest["systems"][SYSTEMS[0]]
    payload = torch.load(copy / entry["file"], weights_only=True)
    payload["model"].pop(next(iter(payload["model"])))  # a weight the code expects is gone
    torch.save(payload, copy / entry["file"])
    entry["sha256"] = checkpoint.file_hash(copy / entry["file"])
    (copy / zoo.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(zoo.ZooError, match="(?s)no longer matches the code.*retrain"):
        zoo.check(copy)


def test_export_writes_half_precision_without_optimiser_state(tiny_dataset, tmp_path):
    from foley_models.cli import main

    run = tmp_path / "run"
    argv = ["train", "gan", "--data", str(tiny_dataset), "--preset", "debug", "--out", str(run)]
    assert main([*argv, "--max-steps", "1", "--device", "cpu"]) == 0
    entry = zoo.export(
        run / "last.pt",
        tmp_path / "zoo",
        training="python -m foley_models train gan ...",
        data="python -m foley_models dataset synth --seed 0",
        commit="0" * 40,
        evaluate={"row": {}},
    )
    payload = torch.load(tmp_path / "zoo" / entry["file"], weights_only=True)
    assert "train_state" not in payload
    assert all(v.dtype != torch.float32 for v in payload["model"].values())
    assert zoo.check(tmp_path / "zoo") == {"gan": tmp_path / "zoo" / "gan-debug.pt"}


def test_export_refuses_an_evaluate_file_without_one_system(tmp_path, capsys):
    from foley_models.cli import main

    bad = tmp_path / "eval.json"
    bad.write_text(json.dumps([{"system": "reference"}]))
    argv = ["zoo", "export", "--checkpoint", str(zoo.path(SYSTEMS[0])), "--training", "t"]
    argv += ["--data", "d", "--commit", "c", "--evaluate", str(bad), "--evaluate-command", "e"]
    assert main(argv) == 2
    assert "not an `evaluate --out` file of one checkpoint" in capsys.readouterr().err
    assert zoo.check()  # the shipped zoo is untouched
