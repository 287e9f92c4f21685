"""How much each DPE net's prior says about the blur: on lens-field samples made from the validation
photos (CBSD68, never trained on), the L1 error of the prior's first 3 channels against the PSF
descriptor they are trained to predict (``training.losses.prior_moments``), for the blind DPE (blurred
photo only) and the calibrated one (calibration pair), next to the descriptor of the classical PSF-field
estimate from the same calibration pair (``calibration.psf.estimate_field``: the second moments of each
cell's kernel, resampled bilinearly to the prior grid) and the error of always predicting the mean
descriptor. Only meaningful for checkpoints trained with ``prior_aux`` > 0.

    python scripts/prior_probe.py                       # the bundled dpa-compact
    python scripts/prior_probe.py --run runs/dpa-compact/last.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deblurcli import archs
from deblurcli.archs.dpa import grid_mean
from deblurcli.calibration.psf import estimate_field
from deblurcli.evaluation import to_tensor
from deblurcli.synth.data import VAL_DIR, data_root, load_images
from deblurcli.synth.degrade import LensField, degrade, sensor
from deblurcli.synth.kernels import second_moments
from deblurcli.training.losses import PRIOR_AUX_LEVEL, prior_moments, psf_descriptor


def _model(run: str | None) -> torch.nn.Module:
    if run:
        st = torch.load(run, map_location="cpu", weights_only=False)
        cfg = json.loads((Path(run).parent / "config.json").read_text())
        m = archs.build("dpa", cfg.get("hparams", {}))
        m.load_state_dict(st["model"])
        return m.eval()
    from deblurcli.hub.registry import load_registry
    from deblurcli.models.loader import load_entry

    return load_entry(load_registry().get("dpa-compact"))[0].eval()


def _field_descriptor(sharp: np.ndarray, blur: np.ndarray, g: int) -> torch.Tensor:
    """The PSF-field estimate's descriptor on the g×g prior grid: (1, 3, g, g)."""
    psfs = estimate_field(sharp, blur)
    m = torch.from_numpy(np.array([[second_moments(k) for k in row] for row in psfs])).permute(2, 0, 1)[None]
    return psf_descriptor(F.interpolate(m.float(), size=(g, g), mode="bilinear", align_corners=False))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=None, help="a training checkpoint (last.pt / best.pt); default: the bundled dpa-compact")
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = _model(a.run)
    imgs = load_images(data_root(), (VAL_DIR,))
    rng = np.random.default_rng(77)
    g = model.cfg.prior_grid
    err = {"blind DPE": [], "calibrated DPE": [], "PSF-field estimate": [], "mean descriptor": []}
    targets = []
    for i in range(a.count):
        field = LensField.random(rng)
        s = int(rng.integers(2**31))
        photo, cal = (imgs[(i + k) % len(imgs)][: a.size, : a.size] for k in (0, a.count))
        d, cd = degrade(photo, np.random.default_rng(s), "lens", field), degrade(cal, np.random.default_rng(s), "lens", field)
        m = to_tensor(d.moments)
        ok = torch.ones(1)
        cal_blur = sensor(cd.blurred, rng, noise=0.01, jpeg_p=0.0)
        with torch.inference_mode():
            blind = model.blind_prior(to_tensor(sensor(d.blurred, rng, noise=0.01, jpeg_p=0.0)))[PRIOR_AUX_LEVEL]
            calp = model.estimate_prior(to_tensor(cal), to_tensor(cal_blur))[PRIOR_AUX_LEVEL]
        err["blind DPE"].append(prior_moments(blind, m, ok, g).item())
        err["calibrated DPE"].append(prior_moments(calp, m, ok, g).item())
        err["PSF-field estimate"].append(prior_moments(_field_descriptor(cal, cal_blur, g), m, ok, g).item())
        targets.append(psf_descriptor(grid_mean(m, g)))
    mean = torch.cat(targets).mean(0, keepdim=True)
    err["mean descriptor"] = [(tg - mean).abs().mean().item() for tg in targets]
    print(f"PSF descriptor error (σx/4, σy/4, correlation; L1 per {g}×{g} cell), {a.count} lens-field samples of {a.size}² "
          f"from {VAL_DIR}, checkpoint {a.run or 'dpa-compact (bundled)'}:")
    for k, v in err.items():
        print(f"  {k:20s} {np.mean(v):.3f}")


if __name__ == "__main__":
    main()
