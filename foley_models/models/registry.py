"""System keys and how to build, train and load each system.

Every system package (`foley_models.models.<key>`) exposes the same names: `config.preset`,
`config.<Name>Config`, `train.Task` (the hooks of the shared training loop) and
`generate.Generator` (the shared generation interface).
"""

import importlib
from pathlib import Path

import torch

from foley_models.models import checkpoint
from foley_models.models.interface import Generator

SYSTEMS = ("foley_music", "samplernn", "wavenet", "gan")


def system_module(system: str, part: str):
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; known: {', '.join(SYSTEMS)}")
    return importlib.import_module(f"foley_models.models.{system}.{part}")


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for but no GPU is available")
    return torch.device(device)


def load_generator(checkpoint_path: str | Path, device: str = "auto") -> Generator:
    """The generator a checkpoint describes, on the device asked for."""
    payload = checkpoint.load(checkpoint_path)
    module = system_module(payload["system"], "generate")
    generator = module.Generator.from_checkpoint(
        payload, resolve_device(device), source=Path(checkpoint_path)
    )
    if not isinstance(generator, Generator):
        raise TypeError(f"{payload['system']}'s generator does not keep the generator contract")
    return generator
