"""Registering trained generators: a Checkpoint row describes one self-describing .pt file."""

from pathlib import Path

from foley_models.models import checkpoint as ckpt
from foley_models.models.registry import SYSTEMS
from studies.errors import StudyError
from studies.models import Checkpoint


class CheckpointChanged(StudyError):
    """The file on disk is no longer the one that was registered."""


def checkpoint_inspect(*, path: str | Path) -> dict:
    """What a checkpoint file is: its resolved path, hash, system key, preset, config, step.
    Raises StudyError naming the problem for a missing, corrupt, foreign or unknown-version
    file."""
    path = Path(path).expanduser().resolve()
    try:
        payload = ckpt.load(path)
    except ckpt.CheckpointError as exc:
        raise StudyError(str(exc)) from None
    if payload["system"] not in SYSTEMS:
        raise StudyError(f"{path}: unknown system {payload['system']!r} (known: {SYSTEMS})")
    return {
        "path": str(path),
        "sha256": ckpt.file_hash(path),
        "system_key": payload["system"],
        "preset": str(payload.get("preset", "")),
        "config": payload["config"],
        "step": payload.get("step"),
        "format_version": payload["format_version"],
        "size_bytes": path.stat().st_size,
    }


def checkpoint_register(*, path: str | Path) -> Checkpoint:
    """Record what a checkpoint file is (see checkpoint_inspect). Registering the same path
    again refreshes the row (e.g. after more training)."""
    fields = checkpoint_inspect(path=path)
    row, _ = Checkpoint.objects.update_or_create(path=fields.pop("path"), defaults=fields)
    return row


def checkpoint_verify(*, checkpoint: Checkpoint) -> str:
    """The file's hash, after checking it is still the registered file."""
    path = Path(checkpoint.path)
    if not path.is_file():
        raise CheckpointChanged(f"checkpoint {path} no longer exists")
    digest = ckpt.file_hash(path)
    if digest != checkpoint.sha256:
        raise CheckpointChanged(
            f"checkpoint {path} changed since it was registered (sha256 {digest[:12]} != "
            f"{checkpoint.sha256[:12]}); register it again to use the new file"
        )
    return digest
