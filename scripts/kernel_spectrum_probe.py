"""Can an estimated kernel be told apart from no blur at all by the photo's own spectrum? A blurred
photo holds almost nothing but noise where the kernel's transfer function is near zero; an already-sharp
photo holds image detail there. Training photos only (``train/bsds500test``), our own blur.

    cd scripts && python kernel_spectrum_probe.py --photos 8 > ../docs/kernel_spectrum_probe.txt

Found (8 photos): the one already-sharp photo that passes as a shake scored 6.5, and shakes in linear
light reach 7.5, so the test does not separate them; it is not used by `--method kernel`.

For each photo, blurred as in ``kernel_confidence_sweep.py`` (a shake in sRGB, in linear light, none)
plus σ 0.01 noise: the estimate's confidence and ``is_shake``, and ``spectral_excess``
(the photo's power where |K|² < 0.01, over the power the measured noise puts there).
"""

from __future__ import annotations

import argparse

import numpy as np

from deblurcli.calibration.noise import value_sigma
from deblurcli.deconv.estimate import estimate
from deblurcli.synth.data import data_root, load_images
from deblurcli.synth.kernels import otf_canvas

from kernel_confidence_sweep import blurred  # type: ignore[import-not-found]


def spectral_excess(rgb: np.ndarray, k: np.ndarray, cutoff: float = 0.01, side: int = 512) -> float:
    """The photo's power where the kernel's transfer function is near zero (|K|² < ``cutoff``), over the
    power its measured noise alone puts there: about 1 for a photo this kernel blurred, far more for
    one it did not blur (an already-sharp photo, whose detail the kernel would have removed). On the
    grey centre crop of at most ``side`` px, Hann-windowed; 1.0 where the kernel has no such
    frequencies (nothing to test)."""
    g = np.ascontiguousarray(rgb.mean(-1) if rgb.ndim == 3 else rgb, dtype=np.float32)
    h, w = g.shape
    ch, cw = min(h, side), min(w, side)
    g = g[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]
    if min(ch, cw) < 2 * max(k.shape):
        return 1.0
    win = np.outer(np.hanning(ch), np.hanning(cw)).astype(np.float32)
    Y = np.fft.rfft2((g - g.mean()) * win)
    K = np.fft.rfft2(otf_canvas(k.astype(np.float32), (ch, cw)))
    null = np.abs(K) ** 2 < cutoff
    if null.sum() < 16:
        return 1.0
    sigma = max(value_sigma(rgb), 1e-3)  # per colour channel; the grey mean of 3 has a third of the power
    noise = sigma**2 / (3 if rgb.ndim == 3 else 1) * float((win**2).sum())
    return float((np.abs(Y[null]) ** 2).mean() / noise)



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=10)
    a = ap.parse_args()
    print(f"$ cd scripts && python kernel_spectrum_probe.py --photos {a.photos}")
    photos = load_images(data_root(), ("train/bsds500test",))[: a.photos]
    rng = np.random.default_rng(11)
    rows: dict[str, list[tuple[float, bool, float]]] = {}
    for p in photos:
        if p.shape[0] > p.shape[1]:
            p = np.ascontiguousarray(p.transpose(1, 0, 2))
        sharp = p[:320, :480].astype(np.float32)
        for kind in ("shake-srgb", "shake-linear", "sharp"):
            y = blurred(sharp, kind, rng)
            est = estimate(y)
            rows.setdefault(kind, []).append((est.confidence, est.is_shake, spectral_excess(y, est.kernel)))
            print(kind, [round(v, 2) if isinstance(v, float) else v for v in rows[kind][-1]], flush=True)
    for kind, r in rows.items():
        ex = np.array([v[2] for v in r])
        print(f"{kind:13s} excess min {ex.min():7.2f} median {np.median(ex):7.2f} max {ex.max():7.2f}")


if __name__ == "__main__":
    main()
