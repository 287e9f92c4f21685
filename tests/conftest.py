"""Shared fixtures. Tests are offline, CPU-only, and make their own small images and tiny networks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from deblurcli.archs import build
from deblurcli.models import store

TINY = {
    "dpa": {"channels": [4, 8, 8], "blocks": [1, 1, 1], "prior_channels": 2, "dpe_blocks": 1, "prior_grid": 4},
    "mtwd": {"channels": [4, 8, 8], "blocks": 1},
    "lcnet": {"channels": [4, 8, 8]},
    "svbr": {"channels": [4, 8, 8, 8], "map_channels": [4, 4, 4, 4]},
    "attgan": {"channels": [4, 8, 8, 8]},
    "blurmap": {"channels": [4, 8, 8, 8], "context": 3},
    "hqs": {"iters": 2, "channels": [4, 8], "canvas": 15, "pad": 8},
}


def small_line_kernel(side: int = 15, length: int = 7) -> "np.ndarray":
    """A diagonal line kernel of ``length`` px on a side×side canvas (for the non-blind net)."""
    import numpy as np

    k = np.zeros((side, side), np.float32)
    c = side // 2
    for i in range(-(length // 2), length // 2 + 1):
        k[c + i, c + i // 2] = 1
    return k / k.sum()


def kernel_kwargs(b: int, side: int = 15) -> dict[str, torch.Tensor]:
    """The non-blind net's extra inputs for a batch of ``b``: a line kernel and σ = 0.01."""
    k = torch.from_numpy(small_line_kernel(side))[None, None].expand(b, 1, side, side).contiguous()
    return {"kernel": k, "sigma": torch.full((b, 1), 0.01)}


def perturb(model: torch.nn.Module, seed: int = 0, scale: float = 0.05) -> torch.nn.Module:
    """Nudge every parameter: zero-initialised output layers (identity at init) would otherwise hide
    bugs, since an identity network is trivially tile-consistent and passes no gradient upstream."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("gamma", "out_scale")):  # learnable gates that start closed
                p.fill_(1.0)
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return model


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_registry(folder: Path, entries: dict[str, tuple[str, Path, str]], defaults: dict[str, str]) -> Path:
    """A user weights.toml: id -> (arch, file, task)."""
    lines = ["[defaults]"] + [f'{k} = "{v}"' for k, v in defaults.items()]
    for wid, (arch, file, task) in entries.items():
        lines += [f'[weights."{wid}"]', f'arch = "{arch}"', f'task = "{task}"', f'file = "{file.name}"',
                  f'sha256 = "{sha256(file)}"', f"size = {file.stat().st_size}", 'license = "test"',
                  f'[weights."{wid}".recipe]', "steps = 0"]
    p = folder / "weights.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture()
def tiny_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tiny random networks registered as the defaults (they restore nothing: for plumbing tests)."""
    folder = tmp_path / "weights"
    folder.mkdir()
    entries = {}
    for arch, task in (("dpa", "motion"), ("svbr", "defocus"), ("lcnet", "motion"), ("blurmap", "blurmap"), ("hqs", "deconv")):
        m = perturb(build(arch, TINY[arch]), scale=0.01)
        f = folder / f"tiny-{arch}.safetensors"
        store.save(m, f)
        entries[f"tiny-{arch}"] = (arch, f, task)
    toml = write_registry(folder, entries, {"deblur": "tiny-dpa", "calibrate": "tiny-dpa", "defocus": "tiny-svbr",
                                            "blurmap": "tiny-blurmap", "deconv": "tiny-hqs", "deconv_given": "tiny-hqs"})
    monkeypatch.setenv("DEBLUR_WEIGHTS_TOML", str(toml))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return toml


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _threads() -> None:
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
