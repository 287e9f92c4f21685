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
import re
import struct
import tempfile
import time
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DeblurError, InputError, OutputExistsError, OutputFolderError, UsageError
from .photo import BYTES_PER_PIXEL, IFD0_TEXT, Photo, available_memory, check_memory, check_size
from .raw import RAW_EXTS, is_raw, read_raw

Image.MAX_IMAGE_PIXELS = None  # we guard size ourselves (max_megapixels), with a clear message
ORIENTATION = 0x0112
FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}  # we write these
READ_ONLY = {".heic": "HEIF", ".heif": "HEIF"}  # phones' photos: read (pillow-heif), written as JPEG
READ_ONLY.update({ext: "RAW" for ext in RAW_EXTS})  # cameras' RAW files: developed (rawpy), written as 16-bit TIFF
INPUT_EXTS = tuple(FORMATS) + tuple(READ_ONLY)
# The kinds above in words, for hints: a kind added to FORMATS or READ_ONLY needs its name here.
KIND_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WebP", "HEIF": "HEIC", "RAW": "camera RAW"}
PHOTO_KINDS = ", ".join(KIND_NAMES[k] for k in dict.fromkeys([*FORMATS.values(), *READ_ONLY.values()]))


def _register_heif() -> None:
    try:
        import pillow_heif
    except ImportError:  # optional at run time: a HEIC file then gets "not an image we can read"
        return
    pillow_heif.register_heif_opener()


_register_heif()
EXT_FOR = {"jpg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}


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
        raise InputError(f"{path}: is a folder, not a photo", "name an image file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    try:
        return Image.open(path)
    except UnidentifiedImageError as e:
        raise InputError(f"{path}: not an image we can read",
                         f"supported: {PHOTO_KINDS} (DNG, CR2/CR3, NEF, ARW, RAF…), and the other formats Pillow reads (BMP, GIF…)") from e
    except OSError as e:
        raise InputError(f"{path}: truncated or corrupt image ({e})") from e


def _tiff_16(path: Path) -> np.ndarray | None:
    """16-bit samples of a TIFF's first page as stored (not oriented), H×W×C, or None if not 16-bit
    RGB/grey (OpenCV 5 reads few TIFFs; Pillow decodes 16-bit RGB as 8 bits)."""
    import tifffile

    with tifffile.TiffFile(path) as t:
        page = t.pages[0]
        if page.dtype != np.uint16 or int(page.photometric) not in (1, 2):  # MINISBLACK, RGB
            return None
        a = page.asarray()
    if a.ndim == 3 and int(page.planarconfig) == 2:  # separate planes: C×H×W
        a = np.moveaxis(a, 0, -1)
    return a


def _cv2_16(path: Path) -> np.ndarray | None:
    """OpenCV's decode in RGB(A) order (it gives BGR(A)), as stored."""
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is not None and a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[..., ::-1] if a.shape[2] == 3 else a[..., [2, 1, 0, 3]]
    return a


def _pixels_16(path: Path, fmt: str, gray: bool) -> np.ndarray | None:
    """16-bit samples of a PNG/TIFF as uint16 H×W×C (RGB order, alpha last), as stored (orientation
    not applied), or None if 8-bit."""
    a = None
    if fmt == "TIFF":
        try:
            a = _tiff_16(path)
        except ValueError:  # a compression tifffile decodes only with imagecodecs (LZW, JPEG …): OpenCV's turn
            a = _cv2_16(path)
    else:
        a = _cv2_16(path)
    if a is None or a.dtype != np.uint16:
        return None
    a = a[..., None] if a.ndim == 2 else a
    if gray and a.shape[2] in (3, 4):
        a = a[..., [0, 3]] if a.shape[2] == 4 else a[..., :1]
    return np.ascontiguousarray(a)


def _png_grey(path: Path) -> bool:
    """A PNG whose IHDR says grey (colour type 0) or grey + alpha (4): Pillow opens a 16-bit grey +
    alpha PNG as RGBA, which would turn a grey photo into colour."""
    with open(path, "rb") as f:
        head = f.read(26)
    return len(head) == 26 and head[12:16] == b"IHDR" and head[25] in (0, 4)


def _exif(im: Image.Image, notes: list[str]) -> Image.Exif:
    """The EXIF block, or an empty one (with a note) when it cannot be parsed: the pixels may be fine."""
    try:
        exif = im.getexif()
        exif.get(ORIENTATION)
        return exif
    except Exception as e:  # noqa: BLE001 — Pillow raises SyntaxError, struct.error, … on bad EXIF
        notes.append(f"EXIF unreadable ({type(e).__name__}): dropped")
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    try:
        o = int(exif.get(ORIENTATION, 1) or 1)
    except (TypeError, ValueError):
        return 1
    return o if 1 <= o <= 8 else 1


def read_photo(path: str | Path, max_megapixels: float = 200.0) -> Photo:
    """Read a photo upright, with its metadata; raise ``InputError`` with a clear reason otherwise.
    Whatever a decoder raises becomes this file's ``InputError``: one bad file never stops a batch."""
    path = Path(path)
    try:
        with warnings.catch_warnings():  # Pillow warns about odd tags; a bad file fails with its reason below
            warnings.simplefilter("ignore")
            return _read(path, max_megapixels)
    except DeblurError:
        raise
    except MemoryError as e:
        raise InputError(f"{path}: not enough memory to decode it", "free memory or lower --max-megapixels") from e
    except Exception as e:  # noqa: BLE001 — decoders raise anything (TypeError, SyntaxError, struct.error …)
        raise InputError(f"{path}: truncated or corrupt image ({type(e).__name__}: {e})") from e


def _read(path: Path, max_megapixels: float) -> Photo:
    if is_raw(path):
        return read_raw(path, max_megapixels)
    im = _open(path)
    with im:
        check_size(path, *im.size, max_megapixels)
        fmt = im.format or "PNG"
        notes: list[str] = []
        frames = int(getattr(im, "n_frames", 1) or 1)
        if frames > 1 and fmt != "MPO":  # MPO: a camera JPEG whose first picture is the photo itself
            notes.append(f"{frames} frames/pages: only the first is restored")
        exif = _exif(im, notes)
        stored = _orientation(exif)  # the file's own tag: what raw (OpenCV/tifffile) samples still need
        if fmt == "HEIF":  # pillow-heif rotates on open and resets the tag; the sensor's frame is kept here
            stored = int(im.info.get("original_orientation") or 1)
            if int(im.info.get("bit_depth") or 8) > 8:
                notes.append(f"{im.info['bit_depth']}-bit HEIF decoded to 8 bits")
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
        # Pillow ≥ 13 applies a TIFF's orientation while loading and drops the tag: what is left in the
        # tag after loading is what Pillow's pixels still need (never applied twice, whatever the version).
        pending = _orientation(_exif(im, []))
        gray = mode in ("L", "LA", "1", "I", "I;16", "I;16B", "I;16L", "I;16N") or (fmt == "PNG" and _png_grey(path))
        has_alpha = mode in ("LA", "RGBA", "PA") or (mode == "P" and "transparency" in im.info)
        a16 = _pixels_16(path, fmt, gray) if fmt in ("PNG", "TIFF") else None
        if a16 is not None:
            bits, arr, to_apply = 16, a16, stored
        else:
            bits, to_apply = 8, pending
            if mode == "CMYK":
                notes.append("CMYK converted to RGB (output is RGB)")
                icc = None  # a CMYK profile does not describe RGB pixels
            target = ("LA" if has_alpha else "L") if gray and mode != "I" else ("RGBA" if has_alpha else "RGB")
            if mode in ("I", "F"):
                raise InputError(f"{path}: 32-bit {mode} images are not supported", "convert to 16-bit PNG/TIFF first")
            arr = np.asarray(im.convert(target) if im.mode != target else im)
            if arr.ndim == 2:
                arr = arr[..., None]
    if exif and ORIENTATION in exif:
        exif[ORIENTATION] = 1
    exif_bytes = _exif_bytes(exif, notes)
    arr = orient(arr, to_apply)
    nc = 1 if gray else 3
    alpha = arr[..., nc].copy() if arr.shape[2] > nc else None
    scale = 65535.0 if bits == 16 else 255.0
    pixels = arr[..., :nc].astype(np.float32)
    pixels /= scale
    return Photo(pixels, bits, alpha, icc, exif_bytes, xmp, tuple(dpi) if dpi else None, fmt, notes, stored)


# The tags that describe how a TIFF stores its pixels (size, samples, strips, tiles, compression,
# resolution, colour map, ICC and XMP, which travel on their own): a TIFF's EXIF as Pillow reads it is its
# whole first IFD, and handed back to an encoder they describe another file (libtiff: "encoder error -8").
TIFF_LAYOUT_TAGS = frozenset({254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 282, 283, 284,
                              296, 317, 320, 322, 323, 324, 325, 330, 338, 339, 340, 341, 347, 513, 514, 530, 531, 532,
                              700, 34675})


def _exif_bytes(exif: Image.Exif, notes: list[str]) -> bytes | None:
    for tag in TIFF_LAYOUT_TAGS & set(exif):
        del exif[tag]
    if str(exif.get(0x010E, "")).startswith('{"shape":'):  # tifffile's description of its array: another file's shape
        del exif[0x010E]
    if not len(exif):
        return None
    try:
        return exif.tobytes()
    except Exception as e:  # noqa: BLE001 — a block Pillow parsed but cannot re-serialise
        notes.append(f"EXIF could not be re-encoded ({type(e).__name__}): dropped")
        return None


# ---------------------------------------------------------------------------------------------- write


def quantise(photo: Photo, bits: int) -> np.ndarray:
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


def _png_la16(a: np.ndarray) -> bytes:
    """A 16-bit grey + alpha PNG (colour type 4) of an H×W×2 uint16 array: rows filtered 'none',
    samples big-endian, one zlib stream."""
    h, w = a.shape[:2]
    rows = np.zeros((h, 1 + w * 4), np.uint8)
    rows[:, 1:] = np.ascontiguousarray(a.astype(">u2")).view(np.uint8).reshape(h, w * 4)
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _png_chunk(b"IEND", b""))


def _png16(photo: Photo, a: np.ndarray) -> bytes:
    """16-bit PNG via OpenCV, with iCCP / eXIf / pHYs / iTXt(XMP) chunks added after IHDR."""
    if a.shape[2] == 3:
        a = a[..., ::-1]
    elif a.shape[2] == 4:
        a = a[..., [2, 1, 0, 3]]
    if a.shape[2] == 2:  # gray + alpha: OpenCV cannot write it; our own encoder keeps it grey
        data = _png_la16(a)
    else:
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
    tags += _ifd0_text_tags(photo)
    photometric = "minisblack" if photo.gray else "rgb"
    extras = ["unassalpha"] if photo.alpha is not None else None
    data = a[..., 0] if a.shape[2] == 1 else a
    tifffile.imwrite(dest, data, photometric=photometric, extrasamples=extras, extratags=tags,
                     resolution=photo.dpi if photo.dpi else None, resolutionunit="INCH" if photo.dpi else None,
                     compression="zlib")


EXIF_SUB_IFDS = {0x8769: "Exif", 0x8825: "GPS", 0xA005: "Interop"}


def _ifd0_text_tags(photo: Photo) -> list[tuple[int, str, int, str, bool]]:
    """The camera's make, model and date (and artist, copyright) from the EXIF block, as the plain
    TIFF tags they are, for the 16-bit TIFF writer; the sub-blocks are left out (with a warning)."""
    if not photo.exif:
        return []
    ex = Image.Exif()
    ex.load(photo.exif)
    tags = [(t, "s", 0, str(ex[t]).strip(), True) for t in IFD0_TEXT if t in ex and str(ex[t]).strip()]
    if set(ex) - set(IFD0_TEXT) - {ORIENTATION}:
        photo.warnings.append("16-bit TIFF: only the camera's make, model and date of the EXIF are carried")
    return tags


def _tiff_exif(photo: Photo) -> bytes:
    """The EXIF block for a TIFF: libtiff cannot write the Exif/GPS sub-IFD pointers that Pillow hands
    it, so those sub-blocks are left out (with a warning); the main tags (make, model, date) stay."""
    assert photo.exif is not None
    ex = Image.Exif()
    ex.load(photo.exif)
    dropped = [name for tag, name in EXIF_SUB_IFDS.items() if tag in ex]
    if not dropped:
        return photo.exif
    for tag in EXIF_SUB_IFDS:
        ex.pop(tag, None)
    photo.warnings.append(f"TIFF: the {'/'.join(dropped)} EXIF sub-blocks are not carried (camera make, model and date are)")
    return ex.tobytes()


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
        kw["exif"] = _tiff_exif(photo) if fmt == "TIFF" else photo.exif
    if photo.dpi:
        kw["dpi"] = photo.dpi
    if photo.xmp and fmt in ("JPEG", "WEBP", "TIFF"):
        kw["xmp"] = photo.xmp
    if photo.xmp and fmt == "PNG":  # Pillow's PNG writer ignores xmp=: an iTXt chunk, as Adobe writes it
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", photo.xmp.decode("utf-8", "replace"))
        kw["pnginfo"] = info
    if fmt == "JPEG":
        kw |= {"quality": quality, "subsampling": 0}
    elif fmt == "WEBP":
        kw |= {"quality": quality}
    elif fmt == "TIFF":
        kw |= {"compression": "tiff_deflate"}
    try:
        img.save(dest, format=fmt, **kw)
    except (RuntimeError, TypeError, ValueError, KeyError) as e:
        if fmt != "TIFF" or "exif" not in kw:
            raise
        # libtiff cannot write some EXIF sub-IFDs (Exif, GPS): keep the pixels, ICC, XMP and DPI
        kw.pop("exif")
        photo.warnings.append(f"TIFF: EXIF block not carried (libtiff: {e})")
        img.save(dest, format=fmt, **kw)


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, before any worker thread
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def publish(tmp: Path, dest: Path, overwrite: bool = True) -> None:
    """Move a finished temporary file onto ``dest`` with the permissions a new file gets here
    (``mkstemp`` makes it owner-only; an output photo or prior should not be). With ``overwrite``
    False, a ``dest`` that exists now — made by another run since we started — is never replaced:
    a hard link cannot replace (``OutputExistsError``); where links are not supported, an ``O_EXCL``
    reservation is made first (a concurrent run then fails instead of this one overwriting)."""
    os.chmod(tmp, 0o666 & ~_UMASK)
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise OutputExistsError(f"output {dest} appeared while this run was working; it was left as it was") from None
    except OSError:  # no hard links here (FAT, some network shares)
        try:
            os.close(os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666 & ~_UMASK))
        except FileExistsError:
            raise OutputExistsError(f"output {dest} appeared while this run was working; it was left as it was") from None
        os.replace(tmp, dest)
        return
    tmp.unlink()


def part_name(dest: Path) -> str:
    """The prefix of ``dest``'s hidden temporary file: short enough for any legal output name, with
    the writing process's id (``clean_stale_parts`` tells a dead run's leftovers by it)."""
    return f".{dest.name[:80]}.{os.getpid()}."


_PART = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]+\.part$")
STALE_PART_S = 60.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def clean_stale_parts(folder: Path, min_age: float = STALE_PART_S) -> list[Path]:
    """Remove the temporary files that a killed run of ours left in ``folder``: named by
    ``part_name``, their process gone, and untouched for ``min_age`` s. Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for f in entries:
        m = _PART.match(f.name)
        if not m or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        try:
            if now - f.stat().st_mtime >= min_age:
                f.unlink()
                removed.append(f)
        except OSError:
            continue
    return removed


def can_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def check_writable(folder: Path) -> None:
    """Fail early, naming the folder, where no output can be written."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not can_write(probe):
        raise OutputFolderError(f"cannot write to {folder}: permission denied", "choose another -o folder")


def write_photo(photo: Photo, dest: str | Path, quality: int = 95, overwrite: bool = True) -> Path:
    """Write atomically; the format follows ``dest``'s extension. Returns ``dest``. With ``overwrite``
    False, a file that appears at ``dest`` while we work is never replaced (``publish``)."""
    dest = Path(dest)
    fmt = FORMATS.get(dest.suffix.lower())
    if fmt is None:
        raise UsageError(f"{dest}: unknown output format {dest.suffix!r}", "use .jpg, .png, .tif or .webp")
    bits = photo.bits if fmt in ("PNG", "TIFF") else 8
    if photo.bits == 16 and bits == 8:
        photo.warnings.append(f"{fmt} holds 8 bits per sample: 16-bit input written as 8-bit")
    a = quantise(photo, bits)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=part_name(dest), suffix=".part", dir=dest.parent)
    except PermissionError as e:
        raise OutputFolderError(f"cannot write to {dest.parent}: permission denied", "choose another -o folder") from e
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        if bits == 16 and fmt == "PNG":
            tmp.write_bytes(_png16(photo, a))
        elif bits == 16:
            _tiff16(photo, a, tmp)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _pil_save(photo, a, tmp, fmt, quality)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        publish(tmp, dest, overwrite)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
