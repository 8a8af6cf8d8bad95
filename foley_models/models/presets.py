"""The one preset helper: every system's `preset(name, **overrides)` picks its config here."""

import dataclasses
from collections.abc import Callable

NAMES = ("debug", "small", "paper")


def choose(name: str, overrides: dict, **builders: Callable):
    """The config `builders[name]()` makes, with `overrides` replaced in it; a clear error for
    a name that is not a preset."""
    if name not in builders:
        raise ValueError(f"unknown preset {name!r}; use {', '.join(builders)}")
    config = builders[name]()
    return dataclasses.replace(config, **overrides) if overrides else config
