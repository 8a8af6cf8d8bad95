"""Registering trained generators: a Checkpoint row describes one self-describing .pt file.

A generation worker on another machine finds a checkpoint by its sha256: at the registered path
if that file is there and unchanged, else in its local cache, else in the object store (where
registering puts a copy under `checkpoints/<sha256>.pt` when stimuli live in a bucket).
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage

from foley_models.models import checkpoint as ckpt
from foley_models.models.registry import SYSTEMS
from studies import storage
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


# At most this many files are offered (the newest), so a huge models folder cannot stall a page.
MAX_FOUND = 500


def checkpoint_files() -> list[dict]:
    """The .pt files below MODELS_DIR, newest first, each with a label for the admin's picker
    (relative path, size, modification time, and whether its path is registered)."""
    from datetime import datetime

    root = Path(settings.MODELS_DIR)
    if not root.is_dir():
        return []
    files = [p for p in root.rglob("*.pt") if p.is_file() and not p.name.startswith(".")]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    registered = set(Checkpoint.objects.values_list("path", flat=True))
    found = []
    for path in files[:MAX_FOUND]:
        stat = path.stat()
        when = datetime.fromtimestamp(stat.st_mtime).strftime("%Y-%m-%d %H:%M")
        mark = " · registered" if str(path) in registered else ""
        label = f"{path.relative_to(root)} ({stat.st_size / 1e6:.1f} MB, {when}{mark})"
        found.append({"path": path, "label": label})
    return found


def checkpoint_register(*, path: str | Path) -> Checkpoint:
    """Record what a checkpoint file is (see checkpoint_inspect). Registering the same path
    again refreshes the row (e.g. after more training)."""
    fields = checkpoint_inspect(path=path)
    row, _ = Checkpoint.objects.update_or_create(path=fields.pop("path"), defaults=fields)
    checkpoint_publish(checkpoint=row)
    return row


def _stored_name(sha256: str) -> str:
    return f"checkpoints/{sha256}.pt"


def checkpoint_publish(*, checkpoint: Checkpoint) -> bool:
    """Put a copy of the file in the object store, for workers without this machine's disk
    (nothing to do with local storage). Returns whether it uploaded."""
    if storage.is_local():
        return False
    name = _stored_name(checkpoint.sha256)
    if default_storage.exists(name):
        return False
    with Path(checkpoint.path).open("rb") as handle:
        default_storage.save(name, File(handle))
    return True


def checkpoint_local(*, checkpoint: Checkpoint) -> tuple[Path, str]:
    """A path on this machine holding exactly the registered file, and its hash. Raises
    CheckpointChanged if the file at the registered path is another one, or if it is nowhere."""
    path = Path(checkpoint.path)
    if path.is_file():
        return path, checkpoint_verify(checkpoint=checkpoint)
    cache = Path(settings.CHECKPOINT_CACHE_DIR)
    cached = cache / f"{checkpoint.sha256}.pt"
    if cached.is_file() and ckpt.file_hash(cached) == checkpoint.sha256:
        return cached, checkpoint.sha256
    name = _stored_name(checkpoint.sha256)
    if storage.is_local() or not default_storage.exists(name):
        raise CheckpointChanged(
            f"checkpoint {path} no longer exists (and the object store has no copy with sha256 "
            f"{checkpoint.sha256[:12]})"
        )
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".fetch-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as out, default_storage.open(name, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        digest = ckpt.file_hash(Path(tmp))
        if digest != checkpoint.sha256:
            raise CheckpointChanged(
                f"the object store's copy of checkpoint {checkpoint.sha256[:12]} has sha256 "
                f"{digest[:12]}"
            )
        os.replace(tmp, cached)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return cached, digest


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
