"""Load a registered checkpoint: resolve (hub), verify (sha256), build the arch, strict load."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ..errors import WeightsError
from ..hub.registry import Registry, WeightsEntry, load_registry
from ..hub.resolve import resolve
from .store import load


def load_entry(entry: WeightsEntry, explicit: Path | None = None) -> tuple[nn.Module, dict[str, str]]:
    path = resolve(entry, explicit)
    model, meta = load(path)
    if meta["arch"] != entry.arch:
        raise WeightsError(f"{path}: holds arch {meta['arch']!r} but weights.toml says {entry.arch!r} for {entry.id}")
    return model, meta


def load_model(model_id: str | None, command: str, explicit: Path | None = None,
               registry: Registry | None = None) -> tuple[nn.Module, WeightsEntry]:
    reg = registry or load_registry()
    entry = reg.get(model_id) if model_id else reg.default_for(command)
    model, _ = load_entry(entry, explicit)
    return model, entry
