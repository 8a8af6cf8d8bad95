"""Pure PyTorch side of the platform: performances, generators, rendering. Never imports Django."""

from pathlib import Path


def load_generator(checkpoint_path: str | Path, device: str = "auto"):
    """The generator a self-describing checkpoint holds (see foley_models.models.registry)."""
    from foley_models.models.registry import load_generator as _load

    return _load(checkpoint_path, device)
