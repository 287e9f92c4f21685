"""Blur kernels as the non-blind net takes them, and as users give and see them.

Convention (``synth.degrade.convolve``): a kernel of side n is centred at (n - 1) // 2. The net takes
kernels on its fixed odd canvas (``archs.hqs.HQSConfig.canvas``) centred at its middle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..synth import kernels

def _too_large(k: np.ndarray, side: int, name: str = "") -> InputError | None:
    kh, kw = k.shape
    if kh <= side and kw <= side:
        return None
    return InputError(f"{name + ': ' if name else ''}the kernel is {kh}×{kw} px; the largest the network takes is "
                      f"{side}×{side}", "downscale the photo and its kernel together, or crop the kernel's empty border")


def to_canvas(k: np.ndarray, side: int) -> np.ndarray:
    """``k`` (2-D, any size up to ``side``) on a side×side canvas, its centre at side // 2, normalised."""
    if (err := _too_large(k, side)) is not None:
        raise err
    return kernels.canvas(k, side)


def trim_zero_border(k: np.ndarray) -> np.ndarray:
    """``k`` without the all-zero rows and columns it has on both sides of each axis: as many from the
    top as from the bottom (and left as right), so the kernel's centre, (n - 1) // 2, stays where it
    was and the result is not shifted. A measured PSF saved on a large canvas then fits the net."""
    nz_r, nz_c = np.flatnonzero(k.any(1)), np.flatnonzero(k.any(0))
    if nz_r.size == 0:
        return k
    t = min(int(nz_r[0]), k.shape[0] - 1 - int(nz_r[-1]))
    c = min(int(nz_c[0]), k.shape[1] - 1 - int(nz_c[-1]))
    return k[t : k.shape[0] - t, c : k.shape[1] - c]


def check_kernel(k: np.ndarray, photo_hw: tuple[int, int] | None = None, name: str = "kernel",
                 max_side: int | None = None) -> np.ndarray:
    """A kernel the user gave, checked and normalised: 2-D, finite, not negative, not all zero, its
    empty border trimmed (``trim_zero_border``), no wider than ``max_side`` (the net's canvas), not
    larger than the photo; one ``InputError`` line per fault."""
    k = np.asarray(k)
    if k.ndim == 3 and k.shape[-1] in (1, 2, 3, 4):  # an image: its colour channels (alpha aside) must agree
        colour = k[..., : 3 if k.shape[-1] >= 3 else 1]
        if not (colour == colour[..., :1]).all():
            raise InputError(f"{name}: a colour image; a kernel is one grey channel of weights",
                             "save it as a grey PNG (mode L or I;16) or a 2-D .npy array")
        k = colour[..., 0]
    if k.ndim != 2:
        raise InputError(f"{name}: a kernel must be a 2-D array, not {k.ndim}-D of shape {k.shape}")
    k = k.astype(np.float32)
    if not np.isfinite(k).all():
        raise InputError(f"{name}: the kernel has values that are not finite")
    if (k < 0).any():
        raise InputError(f"{name}: the kernel has negative values", "a blur kernel is a non-negative PSF")
    if k.sum() <= 0:
        raise InputError(f"{name}: the kernel is all zero")
    k = trim_zero_border(k)
    if max_side is not None and (err := _too_large(k, max_side, name)) is not None:
        raise err
    if photo_hw is not None and (k.shape[0] > photo_hw[0] or k.shape[1] > photo_hw[1]):
        raise InputError(f"{name}: the kernel ({k.shape[0]}×{k.shape[1]}) is larger than the photo "
                         f"({photo_hw[0]}×{photo_hw[1]})")
    return k / k.sum()


def read_kernel(path: Path, photo_hw: tuple[int, int] | None = None, max_side: int | None = None) -> np.ndarray:
    """A kernel file: ``.npy`` (2-D floats) or a grey image (PNG/TIFF, any bit depth; values are
    weights). Checked by ``check_kernel``."""
    from ..io.arrays import read_array

    arr = read_array(path, "--kernel", "give a .npy array or a grey PNG")
    return check_kernel(arr, photo_hw, f"--kernel {path}", max_side)


def trace_image(k: np.ndarray, scale: int = 0) -> np.ndarray:
    """The kernel as a viewable 8-bit picture (the "blur trace"): scaled so its peak is white, enlarged
    ×``scale`` (default: to about 200 px) with nearest-neighbour pixels."""
    img = np.clip(k / max(float(k.max()), 1e-12), 0, 1)
    s = scale or max(1, 200 // max(k.shape))
    img = np.kron(img, np.ones((s, s), np.float32))
    return (img * 255 + 0.5).astype(np.uint8)


def write_trace(k: np.ndarray, path: Path, overwrite: bool = False) -> Path:
    """The blur trace of ``k`` (``trace_image``), a grey PNG for viewing, written whole or not at all;
    an existing file is kept unless ``overwrite``."""
    from ..io.images import Photo, write_photo

    return write_photo(Photo(trace_image(k)[..., None].astype(np.float32) / 255), path, overwrite=overwrite)


def write_kernel_npy(k: np.ndarray, path: Path, overwrite: bool = False) -> Path:
    """The kernel itself (float32, sums to 1: give it back with ``--kernel``) as ``.npy``, written whole
    or not at all; an existing file is kept unless ``overwrite``."""
    import tempfile

    from ..io.images import part_name, publish

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=part_name(path), suffix=".part", dir=path.parent)
    try:
        with open(fd, "wb") as f:
            np.save(f, np.asarray(k, np.float32))
        publish(Path(tmp), path, overwrite)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


