"""Batches of training pairs, generated in a worker process and reproducible from (seed, step)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from .. import archs
from ..archs import ARCHS
from ..synth import kernels
from ..synth.data import (FRAMES_DIR, PAIRS_DIR, STRONG_WINDOWS, Frames, KernelBank, PairSampler, RealPairs, cache_dir,
                          load_images)
from ..calibration.noise import value_sigma
from .config import TrainConfig


def _to_tensor(arrs: list[np.ndarray]) -> torch.Tensor:
    t = torch.from_numpy(np.stack(arrs))
    return t.permute(0, 3, 1, 2).contiguous() if t.ndim == 4 else t.unsqueeze(1)


class BatchStream(IterableDataset):
    def __init__(self, cfg: TrainConfig, root: Path, start_step: int) -> None:
        super().__init__()
        self.cfg, self.root, self.start = cfg, root, start_step
        self.sampler: PairSampler | None = None

    def _setup(self) -> PairSampler:
        if self.sampler is None:
            data, mix = self.cfg.data, self.cfg.mix
            dirs = tuple(d for d in data if d not in (FRAMES_DIR, PAIRS_DIR))
            frames = Frames(self.root) if FRAMES_DIR in data and mix.frames > 0 else None
            strong = Frames(self.root, scale=1.0, windows=STRONG_WINDOWS) if FRAMES_DIR in data and mix.strong_frames > 0 else None
            pairs = RealPairs(self.root) if PAIRS_DIR in data and mix.pairs > 0 else None
            bank = KernelBank(Path(self.cfg.kernel_bank).expanduser() if self.cfg.kernel_bank
                              else cache_dir() / "kernel_bank.npz") if mix.wide_est > 0 else None
            self.sampler = PairSampler(load_images(self.root, dirs), frames, mix, self.cfg.dead_leaves, pairs, strong, bank)
        return self.sampler

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        sampler = self._setup()
        rng = np.random.default_rng([self.cfg.seed, step])
        cal = self.cfg.arch == "dpa"
        items = [sampler.sample(rng, self.cfg.crop, calibration=cal) for _ in range(self.cfg.batch)]
        out = {k: _to_tensor([it[k] for it in items]) for k in ("blur", "sharp")}
        if cal:
            out["cal_blur"] = _to_tensor([it["cal_blur"] for it in items])
            out["cal_sharp"] = _to_tensor([it["cal_sharp"] for it in items])
            if self.cfg.prior_aux > 0:  # PSF moments, and which samples have them (not real frames)
                none = np.zeros((self.cfg.crop, self.cfg.crop, 3), np.float32)
                out["moments"] = _to_tensor([it.get("moments", none) for it in items])
                out["moments_ok"] = torch.tensor([float("moments" in it) for it in items])
        if ARCHS[self.cfg.arch].takes_kernel:  # the PSF on its canvas, and the noise level as estimated
            if any("kernel" not in it for it in items):
                raise ValueError(f"{self.cfg.arch} trains on blur with a known kernel: mix only wide, wide_est, wide_large, motion, gaussian, lenspsf, sharp")
            side = archs.config_from_dict(self.cfg.arch, self.cfg.hparams).canvas  # the net's kernel canvas
            out["kernel"] = _to_tensor([kernels.canvas(it["kernel"], side) for it in items])
            out["sigma"] = torch.tensor([[value_sigma(it["blur"])] for it in items])
        if ARCHS[self.cfg.arch].uses_radius:
            zeros = np.full((self.cfg.crop, self.cfg.crop), 0.0, np.float32)
            out["radius"] = _to_tensor([it.get("radius", zeros) for it in items])
        return out

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        """Batches for steps start, start + 1, …: worker i of n makes steps start + i, start + i + n, …,
        and the DataLoader takes one from each worker in turn, so any number of workers gives the same
        sequence as one (and no two workers make the same batch)."""
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        i, n = (info.id, info.num_workers) if info is not None else (0, 1)
        step = self.start + i
        while True:
            yield self.batch(step)
            step += n


def loader(cfg: TrainConfig, root: Path, start_step: int) -> Iterator[dict[str, torch.Tensor]]:
    ds = BatchStream(cfg, root, start_step)
    if cfg.workers <= 0:
        return iter(ds)
    return iter(DataLoader(ds, batch_size=None, num_workers=cfg.workers, prefetch_factor=4, persistent_workers=True))
