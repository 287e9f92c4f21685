"""Camera RAW input (DNG, CR2/CR3, NEF, ARW, RAF, ORF, RW2, …) through LibRaw (PyPI ``rawpy``).

A RAW file is developed once, the way a quick RAW viewer shows it: demosaiced (AHD), the camera's own
white balance, sRGB primaries and the sRGB tone curve, LibRaw's default exposure, 16 bits per sample,
upright (LibRaw applies the camera's orientation). The result is restored as a 16-bit photo and written
as a 16-bit TIFF unless ``--format`` says otherwise (we cannot write RAW). For full control over the
development, develop in a RAW editor and pass its 16-bit TIFF instead.

Never through Pillow: most RAW files are TIFFs whose first picture is a small preview, which Pillow
would open, and the restored output would be that thumbnail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from .photo import IFD0_TEXT, Photo, check_size

RAW_EXTS = (".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
            ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".mef", ".mos", ".kdc", ".dcr", ".rwl")
# LibRaw's flip code → the EXIF orientation it stands for (the sensor's frame, for calibrated priors).
_FLIP_TO_EXIF = {0: 1, 3: 3, 5: 8, 6: 6}


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_EXTS


def _exif(path: Path, notes: list[str]) -> bytes | None:
    """The camera's make, model and date from the TIFF structure most RAW formats have (tifffile reads
    it whatever the pixels are; Pillow cannot open a mosaic), without orientation (LibRaw applied it);
    None, with a note, for the formats that are not TIFFs (CR3, RAF…)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as t:
            tags = t.pages[0].tags
            out = Image.Exif()
            for code in IFD0_TEXT:
                if code in tags and isinstance(tags[code].value, str) and tags[code].value.strip():
                    out[code] = tags[code].value.strip()
            return out.tobytes() if len(out) else None
    except Exception:  # noqa: BLE001 — not a TIFF: the photo is restored without EXIF
        notes.append("camera RAW: its EXIF could not be read (not carried to the output)")
        return None


def read_raw(path: Path, max_megapixels: float) -> Photo:
    """A RAW file developed as the module says, as a 16-bit upright ``Photo``."""

    try:
        import rawpy
    except ImportError as e:
        raise InputError(f"{path}: camera RAW files need rawpy", "pip install rawpy") from e
    if not path.is_file() or path.stat().st_size == 0:
        raise InputError(f"{path}: {'no such file' if not path.exists() else 'empty or not a file'}")
    notes: list[str] = []
    try:
        with rawpy.imread(str(path)) as raw:
            check_size(path, raw.sizes.width, raw.sizes.height, max_megapixels)
            flip = int(raw.sizes.flip)
            rgb = raw.postprocess(output_bps=16, use_camera_wb=True, output_color=rawpy.ColorSpace.sRGB, gamma=(2.4, 12.92))
    except (rawpy.LibRawError, OSError) as e:
        raise InputError(f"{path}: not a camera RAW file LibRaw can read ({type(e).__name__}: {e})",
                         "develop it in your RAW editor and pass a 16-bit TIFF") from e
    pixels = rgb.astype(np.float32)
    pixels /= 65535.0
    return Photo(pixels, 16, None, None, _exif(path, notes), None, None, "RAW", notes, _FLIP_TO_EXIF.get(flip, 1))
