"""Save/load models as safetensors. Metadata (all strings, JSON where structured) names the arch
and its hyperparameters, so a file rebuilds its network with no code of its own; loading is strict."""

from __future__ import annotations

import hashlib
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
    meta["tensors_sha256"] = tensors_sha256(tensors)
    tmp = path.with_suffix(path.suffix + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.chmod(0o644)
    tmp.replace(path)


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over the tensors' names, shapes, dtypes and bytes in name order: recorded at save, checked
    at load, so a corrupt file is refused even where no registry entry names it (``--weights``)."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}|{tuple(t.shape)}|{t.dtype}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


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
    recorded = meta.get("tensors_sha256")
    if recorded and tensors_sha256(tensors) != recorded:
        raise WeightsError(f"{path} is corrupt: its tensors do not match the hash recorded when it was saved",
                           "download or export the checkpoint again")
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise WeightsError(f"{path}: keys do not match arch {meta['arch']}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval(), meta
