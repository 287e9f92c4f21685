"""A photo as every part of deblurcli holds it (``Photo``), and the size checks made before one is
decoded. Both readers (``io.images``, ``io.raw``) build on this module; it imports neither."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import InputError

IFD0_TEXT = (0x010F, 0x0110, 0x0132, 0x013B, 0x8298)  # Make, Model, DateTime, Artist, Copyright


@dataclass
class Photo:
    """Pixels (float32, H×W×C, C = 3 for RGB or 1 for gray, [0, 1], upright) and what travels with them."""

    pixels: np.ndarray
    bits: int = 8
    alpha: np.ndarray | None = None  # H×W, original integer values (uint8/uint16), untouched
    icc: bytes | None = None
    exif: bytes | None = None  # orientation already reset to 1
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    format: str = "PNG"
    warnings: list[str] = field(default_factory=list)
    orientation: int = 1  # the EXIF orientation the file had (already applied to ``pixels``)

    @property
    def gray(self) -> bool:
        return self.pixels.shape[2] == 1

    @property
    def megapixels(self) -> float:
        return self.pixels.shape[0] * self.pixels.shape[1] / 1e6

    def with_pixels(self, pixels: np.ndarray) -> "Photo":
        return replace(self, pixels=pixels, warnings=list(self.warnings))

    def rgb(self) -> np.ndarray:
        """H×W×3 float32 for a model (gray replicated)."""
        return np.repeat(self.pixels, 3, axis=2) if self.gray else self.pixels


# Peak bytes per pixel of a restore beyond the decoded file: the float32 photo, its mirrored copy
# (RunConfig.edge_pad), the float32 result and blend canvas, the tone guard's difference image (3
# channels each), and the encoder's integer copy. An upper bound, not a measurement.
BYTES_PER_PIXEL = 3 * 4 * 6


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (None where there is no such file)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_size(path: Path, w: int, h: int, max_megapixels: float) -> None:
    """Refuse, before decoding, a photo above ``max_megapixels`` or beyond the free memory."""
    if w * h / 1e6 > max_megapixels:
        raise InputError(f"{path}: {w}×{h} is {w * h / 1e6:.0f} MP, above the {max_megapixels:g} MP limit",
                         "raise it with --max-megapixels if you have the memory")
    check_memory(path, w * h)


def check_memory(path: Path, pixels: int) -> None:
    """Refuse, before decoding, a photo whose restore would not fit in the free memory."""
    need = pixels * BYTES_PER_PIXEL
    free = available_memory()
    if free is not None and need > free:
        raise InputError(f"{path}: {pixels / 1e6:.0f} MP needs about {need / 2**30:.1f} GiB, "
                         f"{free / 2**30:.1f} GiB is free",
                         "free memory, or split the photo; --max-megapixels refuses such files up front")
