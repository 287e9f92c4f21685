"""Run the calibrated-mode DPE net over a (possibly huge) aligned pair, tile by tile, accumulating the
per-cell means that make the prior — identical to the whole-image computation for pairs that fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..archs._blocks import pad_to_multiple
from ..archs.dpa import grid_sums
from ..engine.tiling import plan
from .align import Alignment, align
from .noise import noise_rms
from .psf import blur_space, estimate_field, psf_stats


@torch.inference_mode()
def estimate_prior(model: nn.Module, sharp: np.ndarray, blur: np.ndarray, tile: int = 768) -> list[torch.Tensor]:
    g = model.cfg.prior_grid
    if model.dpe_cal is None:
        from ..errors import WeightsError

        raise WeightsError("this checkpoint has no calibrated-mode DPE net", "use a dpa checkpoint trained with calibrated=true")
    h, w = sharp.shape[:2]
    pair = torch.from_numpy(np.concatenate([sharp, blur], 2)).permute(2, 0, 1)[None].float()
    device = next(model.parameters()).device  # the net may sit on a GPU (a Runner moved it); the prior is on the CPU
    p = plan(h, w, tile, context=model.receptive_px, multiple=model.multiple, ramp=0)
    sums: list[torch.Tensor] = []
    counts: list[torch.Tensor] = []
    for t in p.tiles:
        x, _ = pad_to_multiple(pair[..., t.y0 : t.y1, t.x0 : t.x1], model.multiple)
        levels = [f.cpu() for f in model.calibrated_levels(x.to(device))]
        for i, f in enumerate(levels):
            s = model.level_scale(i)
            # keep the core of the tile at this level; cores partition the image
            cy0, cy1, cx0, cx1 = t.cy0 // s, -(-t.cy1 // s), t.cx0 // s, -(-t.cx1 // s)
            oy, ox = t.y0 // s, t.x0 // s
            core = f[..., cy0 - oy : cy1 - oy, cx0 - ox : cx1 - ox]
            sm, cn = grid_sums(core, g, cy0, cx0, -(-h // s), -(-w // s))
            if len(sums) <= i:
                sums.append(sm)
                counts.append(cn)
            else:
                sums[i] += sm
                counts[i] += cn
    return [sm / cn.clamp_min(1) for sm, cn in zip(sums, counts)]


@dataclass(frozen=True)
class Calibration:
    levels: list[torch.Tensor]
    psfs: np.ndarray
    alignment: Alignment
    summary: dict[str, float]
    noise: tuple[float, float]  # the blurred shot's noise RMS and mean level (linear, sharp's exposure)
    aligned: np.ndarray  # the blurred shot registered onto the sharp one, exposure matched
    space: str = "linear"  # where the pair's blur acts (``psf.SPACES``): the PSF field is in it


def calibrate(model: nn.Module, sharp: np.ndarray, blur: np.ndarray, psf_grid: int = 6, psf_size: int = 25) -> Calibration:
    aligned, al = align(sharp, blur)
    noise = noise_rms(blur, al.gain)
    levels = estimate_prior(model, sharp, aligned)
    space, residual = blur_space(sharp, aligned, psf_grid, psf_size)
    psfs = estimate_field(sharp, aligned, psf_grid, psf_size, space=space)
    stats = [[psf_stats(psfs[i, j]) for j in range(psf_grid)] for i in range(psf_grid)]
    c = psf_grid // 2
    centre = np.mean([stats[i][j].width for i in (c - 1, c) for j in (c - 1, c)]) if psf_grid > 1 else stats[0][0].width
    corners = np.mean([stats[i][j].width for i in (0, psf_grid - 1) for j in (0, psf_grid - 1)])
    summary = {
        "alignment_residual_px": round(al.residual_px, 3),
        "alignment_inliers": al.inliers,
        "photometric_rmse": round(al.photometric_rmse, 5),
        "psf_width_centre_px": round(float(centre), 3),
        "psf_width_corners_px": round(float(corners), 3),
        "anisotropy_corners": round(float(np.mean([stats[i][j].anisotropy for i in (0, psf_grid - 1) for j in (0, psf_grid - 1)])), 3),
        "noise_rms_linear": round(noise[0], 5),
        "blur_space": space,
        "held_out_residual_linear": round(residual["linear"], 5),
        "held_out_residual_srgb": round(residual["srgb"], 5),
    }
    return Calibration(levels, psfs, al, summary, noise, aligned, space)
