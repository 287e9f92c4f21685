"""Read and write photos without losing what the photographer cares about.

- EXIF orientation is applied on read; the orientation tag is reset to 1 on write.
- EXIF, XMP, ICC profile and DPI are carried to the output (16-bit TIFF: ICC, XMP and DPI; the EXIF
  block is not written there and a warning says so).
- Bit depth comes from the file (PNG/TIFF sample size), never from pixel values: 16 bits in, 16 out.
- Grayscale stays grayscale; alpha is passed through untouched; palette images are expanded; CMYK is
  converted to RGB with a warning. Of a multi-frame file (animated GIF, multi-page TIFF) the first
  frame is restored, with a warning; an MPO camera JPEG's first picture is the photo itself.
- Writes are atomic: a temporary file in the same folder, then a rename. An interrupt never leaves a
  half-written output.
"""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputError, UsageError

Image.MAX_IMAGE_PIXELS = None  # we guard size ourselves (max_megapixels), with a clear message
ORIENTATION = 0x0112
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
EXT_FOR = {"jpg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}


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


def orient(a: np.ndarray, o: int) -> np.ndarray:
    """Apply EXIF orientation ``o`` (1-8) to an H×W[×…] array (the one implementation: photos on read,
    calibration priors and PSF grids on use)."""
    if o == 2:
        a = a[:, ::-1]
    elif o == 3:
        a = a[::-1, ::-1]
    elif o == 4:
        a = a[::-1]
    elif o == 5:
        a = np.swapaxes(a, 0, 1)
    elif o == 6:
        a = np.rot90(a, -1)
    elif o == 7:
        a = np.rot90(np.swapaxes(a, 0, 1), 2)
    elif o == 8:
        a = np.rot90(a, 1)
    return np.ascontiguousarray(a)


INVERSE_ORIENTATION = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def unorient(a: np.ndarray, o: int) -> np.ndarray:
    """Inverse of ``orient``: from the upright photo's frame back to the sensor's."""
    return orient(a, INVERSE_ORIENTATION[o])


def _open(path: Path) -> Image.Image:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder", "pass files, or a folder with -r")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    try:
        return Image.open(path)
    except UnidentifiedImageError as e:
        raise InputError(f"{path}: not an image Pillow can read") from e
    except OSError as e:
        raise InputError(f"{path}: truncated or corrupt image ({e})") from e


def _pixels_16(path: Path, gray: bool) -> np.ndarray | None:
    """16-bit samples of a PNG/TIFF as uint16 H×W×C (RGB order, alpha last), or None if 8-bit."""
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None or a.dtype != np.uint16:
        return None
    if a.ndim == 2:
        a = a[..., None]
    elif a.shape[2] == 3:
        a = a[..., ::-1]
    elif a.shape[2] == 4:
        a = a[..., [2, 1, 0, 3]]
    if gray and a.shape[2] in (3, 4):
        a = a[..., [0, 3]] if a.shape[2] == 4 else a[..., :1]
    return np.ascontiguousarray(a)


def read_photo(path: str | Path, max_megapixels: float = 200.0) -> Photo:
    """Read a photo upright, with its metadata; raise ``InputError`` with a clear reason otherwise."""
    path = Path(path)
    im = _open(path)
    with im:
        w, h = im.size
        if w * h / 1e6 > max_megapixels:
            raise InputError(f"{path}: {w}×{h} is {w * h / 1e6:.0f} MP, above the {max_megapixels:g} MP limit",
                             "raise it with --max-megapixels if you have the memory")
        fmt = im.format or "PNG"
        notes: list[str] = []
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frames > 1 and fmt != "MPO":  # MPO: a camera JPEG whose first picture is the photo itself
            notes.append(f"{frames} frames/pages: only the first is restored")
        exif = im.getexif()
        orientation = int(exif.get(ORIENTATION, 1) or 1)
        icc = im.info.get("icc_profile")
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        if isinstance(xmp, str):
            xmp = xmp.encode()
        dpi = im.info.get("dpi")
        mode = im.mode
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as e:
            raise InputError(f"{path}: truncated or corrupt image data ({e})") from e
        gray = mode in ("L", "LA", "1", "I", "I;16", "I;16B", "I;16L", "I;16N")
        has_alpha = mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in im.info)
        a16 = _pixels_16(path, gray) if fmt in ("PNG", "TIFF") else None
        if a16 is not None:
            bits = 16
            arr = a16
        else:
            bits = 8
            if mode == "CMYK":
                notes.append("CMYK converted to RGB (output is RGB)")
                icc = None  # a CMYK profile does not describe RGB pixels
            target = ("LA" if has_alpha else "L") if gray and mode != "I" else ("RGBA" if has_alpha else "RGB")
            if mode in ("I", "F"):
                raise InputError(f"{path}: 32-bit {mode} images are not supported", "convert to 16-bit PNG/TIFF first")
            arr = np.asarray(im.convert(target) if im.mode != target else im)
            if arr.ndim == 2:
                arr = arr[..., None]
    if exif and orientation != 1:
        exif[ORIENTATION] = 1
    exif_bytes = exif.tobytes() if len(exif) else None
    arr = orient(arr, orientation)
    nc = 1 if gray else 3
    alpha = arr[..., nc].copy() if arr.shape[2] > nc else None
    scale = 65535.0 if bits == 16 else 255.0
    pixels = arr[..., :nc].astype(np.float32)
    pixels /= scale
    return Photo(pixels, bits, alpha, icc, exif_bytes, xmp, tuple(dpi) if dpi else None, fmt, notes, orientation)


# ---------------------------------------------------------------------------------------------- write


def _quantise(photo: Photo, bits: int) -> np.ndarray:
    scale = np.float32(65535.0 if bits == 16 else 255.0)
    x = photo.pixels
    a = np.empty(x.shape, np.uint16 if bits == 16 else np.uint8)
    # In bands of rows through one small float buffer: a whole-image float temporary (144 MB at 12 MP)
    # cost 0.4 s of page faults in the writer thread, 40× the arithmetic.
    rows = max(1, (4 << 20) // max(x[0].nbytes, 1))
    buf = np.empty((min(rows, x.shape[0]), *x.shape[1:]), np.float32)
    for y0 in range(0, x.shape[0], rows):
        t = buf[: min(rows, x.shape[0] - y0)]
        np.multiply(x[y0 : y0 + rows], scale, out=t)
        t += 0.5
        np.clip(t, 0, scale, out=t)
        a[y0 : y0 + rows] = t  # truncates, as astype did: round half up overall
    if photo.alpha is not None:
        al = photo.alpha
        if al.dtype != a.dtype:  # 16-bit alpha into an 8-bit file or vice versa
            al = (al.astype(np.float64) * (scale / (65535.0 if al.dtype == np.uint16 else 255.0)) + 0.5).astype(a.dtype)
        a = np.concatenate([a, al[..., None]], axis=2)
    return a


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png16(photo: Photo, a: np.ndarray) -> bytes:
    """16-bit PNG via OpenCV, with iCCP / eXIf / pHYs / iTXt(XMP) chunks added after IHDR."""
    if a.shape[2] == 3:
        a = a[..., ::-1]
    elif a.shape[2] == 4:
        a = a[..., [2, 1, 0, 3]]
    elif a.shape[2] == 2:  # gray + alpha: OpenCV cannot write it; expand to RGBA
        a = a[..., [0, 0, 0, 1]]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(a))
    if not ok:
        raise OSError("PNG encoding failed")
    data = buf.tobytes()
    extra = b""
    if photo.icc:
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(photo.icc))
    if photo.exif:
        ex = photo.exif[6:] if photo.exif.startswith(b"Exif\x00\x00") else photo.exif
        extra += _png_chunk(b"eXIf", ex)
    if photo.dpi:
        ppm = [int(round(d / 0.0254)) for d in photo.dpi]
        extra += _png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1))
    if photo.xmp:
        extra += _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + photo.xmp)
    ihdr_end = 8 + 8 + 13 + 4
    return data[:ihdr_end] + extra + data[ihdr_end:]


def _tiff16(photo: Photo, a: np.ndarray, dest: Path) -> None:
    import tifffile

    tags = []
    if photo.icc:
        tags.append((34675, "B", len(photo.icc), photo.icc, True))
    if photo.xmp:
        tags.append((700, "B", len(photo.xmp), photo.xmp, True))
    photometric = "minisblack" if photo.gray else "rgb"
    extras = ["unassalpha"] if photo.alpha is not None else None
    data = a[..., 0] if a.shape[2] == 1 else a
    tifffile.imwrite(dest, data, photometric=photometric, extrasamples=extras, extratags=tags,
                     resolution=photo.dpi if photo.dpi else None, resolutionunit="INCH" if photo.dpi else None,
                     compression="zlib")


def _pil_save(photo: Photo, a: np.ndarray, dest: Path, fmt: str, quality: int) -> None:
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[a.shape[2]]
    img = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a, mode)
    if fmt == "JPEG" and mode in ("LA", "RGBA"):
        img = img.convert("L" if mode == "LA" else "RGB")
        photo.warnings.append("JPEG has no alpha channel: alpha dropped")
    kw: dict[str, object] = {}
    if photo.icc:
        kw["icc_profile"] = photo.icc
    if photo.exif:
        kw["exif"] = photo.exif
    if photo.dpi:
        kw["dpi"] = photo.dpi
    if photo.xmp and fmt in ("JPEG", "WEBP", "PNG", "TIFF"):
        kw["xmp"] = photo.xmp
    if fmt == "JPEG":
        kw |= {"quality": quality, "subsampling": 0}
    elif fmt == "WEBP":
        kw |= {"quality": quality}
    elif fmt == "TIFF":
        kw |= {"compression": "tiff_deflate"}
    img.save(dest, format=fmt, **kw)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, before any worker thread
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def publish(tmp: Path, dest: Path) -> None:
    """Move a finished temporary file onto ``dest`` with the permissions a new file gets here
    (``mkstemp`` makes it owner-only; an output photo or prior should not be)."""
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, dest)


def write_photo(photo: Photo, dest: str | Path, quality: int = 95) -> Path:
    """Write atomically; the format follows ``dest``'s extension. Returns ``dest``."""
    dest = Path(dest)
    fmt = FORMATS.get(dest.suffix.lower())
    if fmt is None:
        raise UsageError(f"{dest}: unknown output format {dest.suffix!r}", "use .jpg, .png, .tif or .webp")
    bits = photo.bits if fmt in ("PNG", "TIFF") else 8
    if photo.bits == 16 and bits == 8:
        photo.warnings.append(f"{fmt} holds 8 bits per sample: 16-bit input written as 8-bit")
    a = _quantise(photo, bits)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        if bits == 16 and fmt == "PNG":
            tmp.write_bytes(_png16(photo, a))
        elif bits == 16:
            if photo.exif:
                photo.warnings.append("16-bit TIFF: EXIF block not carried (ICC, XMP and DPI are)")
            _tiff16(photo, a, tmp)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _pil_save(photo, a, tmp, fmt, quality)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        publish(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
