"""A small synthetic dataset with video and debug checkpoints of the four systems, made once."""

from pathlib import Path

import pytest

from foley_models.cli import main
from foley_models.data.synth.performer import SynthConfig, synthesize
from studies import services
from studies.stimuli.checkpoints import checkpoint_register
from studies.stimuli.items import items_import

SYSTEMS = ("foley_music", "wavenet", "samplernn", "gan")
# Distinctive keys and names, so the blinding scans cannot miss them.
KEYS = {s: f"sys_{s}_zq" for s in SYSTEMS}


@pytest.fixture(scope="session")
def stimuli_dataset(tmp_path_factory) -> Path:
    """Piano and violin performances (train, val and test splits) with stick-figure videos."""
    out = tmp_path_factory.mktemp("stimuli-data")
    synthesize(
        out,
        SynthConfig(minutes=1.5, seed=3, max_piece_s=10.0, instruments=("piano", "violin")),
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def debug_checkpoints(tmp_path_factory, stimuli_dataset) -> dict[str, Path]:
    """Each system's debug preset trained for one step by the project's train command."""
    paths = {}
    for system in SYSTEMS:
        out = tmp_path_factory.mktemp(f"run-{system}")
        argv = ["train", system, "--data", str(stimuli_dataset), "--preset", "debug"]
        argv += ["--out", str(out), "--max-steps", "1", "--val-every", "1", "--device", "cpu"]
        assert main(argv) == 0
        paths[system] = out / "best.pt"
    return paths


def make_generation_study(stimuli_dataset, debug_checkpoints, *, slug="gen", duration_s=2.0):
    """A draft study of the four systems with their checkpoints and one test item per
    instrument."""
    study = services.study_create(
        title=f"Generation {slug}",
        slug=slug,
        systems=[(KEYS[s], f"Name of {KEYS[s]}") for s in SYSTEMS],
        trials_per_session=2,
        check_trials_per_session=1,
    )
    for system in study.systems.all():
        name = system.key.removeprefix("sys_").removesuffix("_zq")
        system.checkpoint = checkpoint_register(path=debug_checkpoints[name])
        if name == "foley_music":
            # Greedy decoding of a one-step model can give an item no note at all (a silent
            # clip, which is recorded as a failure); nucleus sampling, as in the demo, does not.
            system.sampling = {"greedy": False, "top_p": 0.9}
        system.save()
    items_import(
        study=study, data_dir=stimuli_dataset, split="test", per_category=1, duration_s=duration_s
    )
    return study
