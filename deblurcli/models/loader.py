"""Load a registered checkpoint: resolve (hub), verify (sha256), build the arch, strict load.

``--weights PATH`` loads the user's own safetensors file by its metadata (arch, hyperparameters): no
registered hash applies to it, but it is still safetensors-only (no code can run) and strictly loaded.
"""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from ..errors import WeightsError
from ..hub.registry import Registry, WeightsEntry, load_registry
from ..hub.resolve import resolve, sha256_of
from .store import load

log = logging.getLogger("deblurcli.models")


def load_entry(entry: WeightsEntry) -> tuple[nn.Module, dict[str, str]]:
    path = resolve(entry)
    model, meta = load(path)
    if meta["arch"] != entry.arch:
        raise WeightsError(f"{path}: holds arch {meta['arch']!r} but weights.toml says {entry.arch!r} for {entry.id}")
    return model, meta


def load_file(path: Path) -> tuple[nn.Module, WeightsEntry]:
    if not path.is_file():
        raise WeightsError(f"--weights {path}: no such file")
    model, meta = load(path)
    log.debug("weights: --weights %s (arch %s, not a registered checkpoint)", path, meta["arch"])
    sha = sha256_of(path)
    entry = WeightsEntry(id=meta.get("id", path.stem), arch=meta["arch"], task="motion", sha256=sha,
                         size=path.stat().st_size, license="user file", file=str(path))
    return model, entry


def load_model(model_id: str | None, command: str, explicit: Path | None = None,
               registry: Registry | None = None) -> tuple[nn.Module, WeightsEntry]:
    if explicit is not None:
        return load_file(explicit)
    reg = registry or load_registry()
    entry = reg.get(model_id) if model_id else reg.default_for(command)
    model, _ = load_entry(entry)
    return model, entry
