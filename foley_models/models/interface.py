"""The shared generator interface: what `generate` returns, and the checks and batching every
system's `generate(pose_clips, instrument, *, seed, **sampling)` applies to its input."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pretty_midi

from foley_models.data.layouts import validate_pose


@dataclass
class Generated:
    audio: np.ndarray  # mono float32
    sample_rate: int
    midi: pretty_midi.PrettyMIDI | None = None  # systems that predict MIDI
    tokens: list[int] | None = None


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
