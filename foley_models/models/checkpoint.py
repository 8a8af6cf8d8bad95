"""Self-describing checkpoints: system key, preset, config, format version, weights.

Written to a temporary file and renamed, so a crash never leaves a half-written checkpoint.
"""

import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

import torch

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    pass


def config_to_dict(config) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(cls, data: dict):
    """Rebuild a (nested) frozen config dataclass; tuples come back as tuples."""
    kwargs = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in hints:
            raise CheckpointError(f"checkpoint config has an unknown field {key!r}")
        default = (
            hints[key].default_factory()
            if hints[key].default_factory is not dataclasses.MISSING
            else hints[key].default
        )
        if dataclasses.is_dataclass(default):
            value = config_from_dict(type(default), value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def save(
    path: Path,
    *,
    system: str,
    preset: str,
    config,
    model: torch.nn.Module,
    step: int,
    metrics: dict,
    train_state: dict | None = None,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": FORMAT_VERSION,
        "system": system,
        "preset": preset,
        "config": config_to_dict(config),
        "model": model.state_dict(),
        "step": step,
        "metrics": metrics,
    }
    if train_state is not None:
        payload["train_state"] = train_state
    return save_payload(path, payload)


def save_payload(path: Path, payload: dict) -> Path:
    """torch.save through a temporary file and a rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=".pt")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load(path: Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise CheckpointError(f"{path}: not a checkpoint of this project (no format version)")
    if payload["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {payload['format_version']} is not supported "
            f"(this code reads format {FORMAT_VERSION})"
        )
    for key in ("system", "config", "model"):
        if key not in payload:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    return payload


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
