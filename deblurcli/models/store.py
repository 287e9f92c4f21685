"""Save/load models as safetensors. Metadata (all strings, JSON where structured) names the arch
and its hyperparameters, so a file rebuilds its network with no code of its own; loading is strict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from .. import archs
from ..errors import WeightsError

FORMAT = "deblurcli/1"


def save(model: nn.Module, path: Path, extra: dict[str, Any] | None = None) -> None:
    meta = {"format": FORMAT, "arch": archs.arch_of(model), "hparams": json.dumps(archs.hparams_of(model))}
    for k, v in (extra or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v)
    tensors = {k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.chmod(0o644)
    tmp.replace(path)


def read_metadata(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"{path} is not a readable safetensors checkpoint: {e}") from e


def load(path: Path) -> tuple[nn.Module, dict[str, str]]:
    """Build the arch named in the metadata and load the tensors strictly (eval mode)."""
    meta = read_metadata(path)
    if meta.get("format") != FORMAT or "arch" not in meta:
        raise WeightsError(f"{path} has no deblurcli metadata (format/arch); it is not a deblurcli checkpoint")
    try:
        model = archs.build(meta["arch"], json.loads(meta.get("hparams", "{}")))
    except (KeyError, ValueError, TypeError) as e:
        raise WeightsError(f"{path}: cannot build arch {meta.get('arch')!r}: {e}") from e
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        for k in f.keys():
            tensors[k] = f.get_tensor(k)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise WeightsError(f"{path}: keys do not match arch {meta['arch']}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval(), meta
