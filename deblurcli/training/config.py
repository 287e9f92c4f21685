"""Typed training config, read from TOML. Unknown keys are an error (no silent typos)."""

from __future__ import annotations

import dataclasses
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..synth.data import Mix

Loss = Literal["dpa", "mtwd", "lcnet", "svbr", "attgan", "blurmap"]


@dataclass(frozen=True)
class TrainConfig:
    id: str  # weights.toml entry this run produces, e.g. "dpa-compact"
    arch: str
    task: Literal["motion", "defocus", "prior", "blurmap", "deconv"] = "motion"
    hparams: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    # Fine-tuning: a weights.toml id whose checkpoint starts a fresh run (its sha256 goes into the run's
    # metadata); empty: random initialisation.
    init: str = ""
    steps: int = 100_000
    batch: int = 8
    crop: int = 128
    lr: float = 5e-4
    lr_min: float = 1e-6
    warmup: int = 500
    weight_decay: float = 0.0
    grad_clip: float = 0.5
    precision: Literal["bf16", "fp32"] = "bf16"
    channels_last: bool = True
    threads: int = 2
    workers: int = 1
    val_every: int = 1000
    ckpt_every: int = 500
    val_count: int = 24
    val_size: int = 256
    val_kinds: tuple[str, ...] = ("motion", "lens", "defocus", "sharp", "frames")
    mix: Mix = Mix()
    dead_leaves: float = 0.15
    # The (true, estimated) kernel bank of mix.wide_est (scripts/kernel_error_bank.py); "" = the default
    # path, $DEBLUR_CACHE/kernel_bank.npz.
    kernel_bank: str = ""
    map_degrade_after: int = -1  # svbr: from this step on, feed estimator-like degraded maps
    map_scale_jitter: float = 0.0  # svbr: degraded maps are also scaled by exp(U(-j, j)) (estimator bias)
    prior_aux: float = 0.0  # dpa: weight of the loss that makes 3 prior channels predict the PSF's moments
    adversarial_after: int = -1  # attgan: from this step on, add the adversarial loss
    adv_weight: float = 0.005
    data: tuple[str, ...] = ("train/bsds200", "train/urban100", "train/sunhays80", "train/div2k6", "frames/gopro_GOPR0477_11_00")
    license: str = "research use: trained on BSDS300, Urban100, Sun-Hays 80, DIV2K, GoPro (original terms apply)"


def load_config(path: str | Path) -> TrainConfig:
    raw = tomllib.loads(Path(path).read_text())
    return from_dict(raw)


def from_dict(raw: dict[str, Any]) -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"unknown training config keys: {sorted(unknown)}")
    raw = dict(raw)
    if "mix" in raw:
        raw["mix"] = Mix(**raw["mix"])
    for k in ("val_kinds", "data"):
        if k in raw:
            raw[k] = tuple(raw[k])
    return TrainConfig(**raw)


def to_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
