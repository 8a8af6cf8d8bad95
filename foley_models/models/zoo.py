"""The demo's model zoo: small checkpoints trained by our own code, shipped in the repository.

`foley_models/zoo/` holds one half-precision checkpoint per system and `manifest.json`, which
says for each file its sha256 and size, the exact training command, the data it was trained on
(the synthesis command and seed), the code commit and the `evaluate` figures. Half precision
halves the size; the weights are cast back to float32 when loaded (`load_state_dict` copies).

`check` refuses a zoo that no longer matches the code: a file whose hash differs from the
manifest, a config with fields the code does not know, or weights that do not load strictly
into the model the code builds today. The demo uses the zoo unless asked to retrain.
"""

import json
from pathlib import Path

from foley_models.data.dataset import atomic_write_bytes
from foley_models.models import checkpoint

ZOO = Path(__file__).resolve().parents[1] / "zoo"
MANIFEST = "manifest.json"


class ZooError(ValueError):
    pass


def read_manifest(zoo: Path = ZOO) -> dict:
    path = Path(zoo) / MANIFEST
    if not path.is_file():
        raise ZooError(f"{path}: no zoo manifest")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ZooError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest.get("systems"), dict):
        raise ZooError(f"{path}: no 'systems' table")
    return manifest


def _write_json(path: Path, data: dict) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())


def export(
    source: Path, zoo: Path = ZOO, *, training: str, data: str, commit: str, evaluate: dict
) -> dict:
    """Add (or replace) a system's checkpoint in the zoo: weights in half precision, no
    optimiser state, and its manifest entry."""
    payload = checkpoint.load(source)
    system = payload["system"]
    payload.pop("train_state", None)
    payload["model"] = {
        k: v.half() if v.is_floating_point() else v for k, v in payload["model"].items()
    }
    zoo = Path(zoo)
    name = f"{system}-{payload.get('preset', 'small')}.pt"
    checkpoint.save_payload(zoo / name, payload)
    try:
        manifest = read_manifest(zoo)
    except ZooError:
        manifest = {"systems": {}}
    entry = {
        "file": name,
        "sha256": checkpoint.file_hash(zoo / name),
        "bytes": (zoo / name).stat().st_size,
        "dtype": "float16",
        "preset": payload.get("preset"),
        "step": payload.get("step"),
        "training": training,
        "data": data,
        "commit": commit,
        "evaluate": evaluate,
    }
    manifest["systems"][system] = entry
    _write_json(zoo / MANIFEST, manifest)
    return entry


def path(system: str, zoo: Path = ZOO) -> Path | None:
    """The zoo's checkpoint for a system, or None when the zoo has none."""
    try:
        entry = read_manifest(zoo)["systems"].get(system)
    except ZooError:
        return None
    return None if entry is None else Path(zoo) / entry["file"]


def check(zoo: Path = ZOO) -> dict[str, Path]:
    """Every checkpoint in the manifest, verified against its hash and loaded strictly into
    the model the code builds today. Raises ZooError naming the file and the problem."""
    from foley_models.models.registry import load_generator

    zoo = Path(zoo)
    found = {}
    for system, entry in read_manifest(zoo)["systems"].items():
        file = zoo / entry["file"]
        if not file.is_file():
            raise ZooError(f"{file}: listed in the manifest for {system} but missing")
        if checkpoint.file_hash(file) != entry["sha256"]:
            raise ZooError(f"{file}: its sha256 differs from the manifest's (changed or damaged)")
        try:
            generator = load_generator(file, "cpu")
        except (checkpoint.CheckpointError, RuntimeError, TypeError, ValueError) as exc:
            raise ZooError(
                f"{file}: no longer matches the code ({exc}); retrain it "
                f"(see its 'training' command in {zoo / MANIFEST})"
            ) from None
        if generator.system != system:
            raise ZooError(f"{file}: holds {generator.system}, the manifest says {system}")
        found[system] = file
    return found
