"""`--preview`: the PSF field drawn as a grid of kernels over the image, beside blur-strength maps."""

from __future__ import annotations

import cv2
import numpy as np

from .psf import psf_stats


def _heat(values: np.ndarray, size: tuple[int, int], vmax: float) -> np.ndarray:
    v = cv2.resize(values.astype(np.float32), size, interpolation=cv2.INTER_CUBIC)
    c = cv2.applyColorMap((np.clip(v / max(vmax, 1e-6), 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    return cv2.cvtColor(c, cv2.COLOR_BGR2RGB).astype(np.float32) / 255


def _label(img: np.ndarray, text: str) -> None:
    cv2.putText(img, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)


def render(sharp: np.ndarray, psfs: np.ndarray, width: int = 640) -> np.ndarray:
    """RGB uint8: [image with a magnified PSF in every cell | PSF width map | anisotropy map]."""
    g = psfs.shape[0]
    h = int(round(width * sharp.shape[0] / sharp.shape[1]))
    base = (cv2.resize(sharp, (width, h), interpolation=cv2.INTER_AREA) * 0.5 * 255).astype(np.uint8)
    cell_h, cell_w = h // g, width // g
    side = int(min(cell_h, cell_w) * 0.8)
    for i in range(g):
        for j in range(g):
            k = psfs[i, j] / max(psfs[i, j].max(), 1e-8)
            kimg = cv2.resize(k, (side, side), interpolation=cv2.INTER_NEAREST)
            y0 = i * cell_h + (cell_h - side) // 2
            x0 = j * cell_w + (cell_w - side) // 2
            base[y0 : y0 + side, x0 : x0 + side] = np.maximum(base[y0 : y0 + side, x0 : x0 + side], (kimg[..., None] * 255).astype(np.uint8))
    stats = [[psf_stats(psfs[i, j]) for j in range(g)] for i in range(g)]
    widths = np.array([[s.width for s in row] for row in stats])
    aniso = np.array([[s.anisotropy for s in row] for row in stats])
    wmap = (_heat(widths, (width, h), float(widths.max())) * 255).astype(np.uint8)
    amap = (_heat(aniso - 1, (width, h), float(max(aniso.max() - 1, 0.5))) * 255).astype(np.uint8)
    _label(base, f"PSF field ({g}x{g})")
    _label(wmap, f"PSF width: {widths.min():.2f}-{widths.max():.2f} px")
    _label(amap, f"anisotropy: {aniso.min():.2f}-{aniso.max():.2f}")
    return np.concatenate([base, wmap, amap], axis=1)
