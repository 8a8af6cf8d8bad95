"""The contracts every system keeps: the training task the one training loop drives, the
generator that stimulus generation, `evaluate` and the CLI call, what `generate` returns, and
the checks and batching every `generate` applies to its input."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pretty_midi

from foley_models.data.layouts import validate_pose


@dataclass
class Generated:
    audio: np.ndarray  # mono float32
    sample_rate: int
    midi: pretty_midi.PrettyMIDI | None = None  # systems that predict MIDI
    tokens: list[int] | None = None


class TrainingTask(Protocol):
    """What foley_models.models.training.train drives."""

    model: Any  # torch.nn.Module
    config: Any  # the system's frozen config dataclass

    def train_batch(self, rng) -> Any: ...

    def loss(self, batch) -> tuple[Any, dict]: ...

    def validate(self) -> dict: ...  # with "val_loss"

    def lr(self, step: int) -> float: ...


@runtime_checkable
class PartialOptimization(Protocol):
    """A task whose main optimiser updates only some parameters (the GAN's generator)."""

    def optimized_parameters(self) -> Iterable: ...


@runtime_checkable
class AuxiliaryOptimization(Protocol):
    """A task with a second optimiser stepped before each main step (the GAN's critic), whose
    state goes into the resumable checkpoint."""

    def auxiliary_step(self, batch, step: int) -> dict: ...

    def auxiliary_state(self) -> dict: ...

    def load_auxiliary_state(self, state: dict) -> None: ...


@runtime_checkable
class Generator(Protocol):
    """A trained system: `generate` makes one soundtrack per pose clip [T, C, V, M]."""

    system: str
    config: Any
    device: Any
    source: Path | None

    def generate(
        self,
        pose_clips: list,
        instrument: str | list[str],
        *,
        seed: int = 0,
        fps: float = 22.0,
        layout: str = "body65",
        sample_rate: int | None = None,
        **sampling,
    ) -> list["Generated"]: ...


def per_clip_instruments(instrument: str | Sequence[str], n_clips: int) -> list[str]:
    """One instrument name per clip: `generate` takes one name for the whole batch or one per
    clip (so clips of different instruments can share a batch)."""
    if isinstance(instrument, str):
        return [instrument] * n_clips
    names = list(instrument)
    if len(names) != n_clips:
        raise ValueError(f"{len(names)} instruments given for {n_clips} pose clips")
    return names


def group_by_length(
    pose_clips: list[np.ndarray], *, fps: float, layout: str, trained_fps: float
) -> dict[int, list[int]]:
    """Clip indices grouped by frame count (each group runs as one batch), after checking every
    clip against the layout and the frame rate the model was trained on."""
    if abs(fps - trained_fps) > 1e-6:
        raise ValueError(
            f"this model was trained on {trained_fps:g} fps poses, not {fps:g} fps; "
            "resample the poses first"
        )
    groups: dict[int, list[int]] = {}
    for i, clip in enumerate(pose_clips):
        validate_pose(np.asarray(clip), layout, source=f"clip {i}", fps=fps)
        groups.setdefault(len(clip), []).append(i)
    return groups
