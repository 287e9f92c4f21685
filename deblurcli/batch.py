"""Batch processing for the photo commands: expand inputs, name outputs, never overwrite an input,
process each file independently (one bad file is reported and the batch goes on), prefetch the next
photo while the current one computes, and write in the background. No printing: callers get events.
"""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

import numpy as np

from .errors import DeblurError, OutputExistsError, UsageError
from .io.raw import RAW_EXTS
from .io.images import EXT_FOR, FORMATS, INPUT_EXTS, PHOTO_KINDS, Photo, check_writable, clean_stale_parts, read_photo, write_photo
from .plan import Plan

IMAGE_EXTS = tuple(FORMATS)  # what we write
OutFormat = Literal["same", "png", "jpg", "tiff", "webp"]


@dataclass(frozen=True)
class Job:
    src: Path
    dest: Path | None  # None: the input itself could not be found
    error: str | None = None


@dataclass(frozen=True)
class NamingOptions:
    output: Path | None = None
    suffix: str = "_deblurred"
    format: OutFormat = "same"
    recursive: bool = False


@dataclass
class FileResult:
    src: Path | str  # str: a URI (s3://…) of the Ray pipeline
    dest: Path | str | None
    status: Literal["done", "skipped", "failed"]
    reason: str = ""
    seconds: float = 0.0
    megapixels: float = 0.0
    warnings: list[str] = field(default_factory=list)
    size: tuple[int, int] | None = None  # (width, height) of the upright photo
    info: dict[str, object] = field(default_factory=dict)  # what the process says it did (--method auto: its route)


def _files_in(folder: Path, recursive: bool) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(p for p in it if p.is_file() and not p.name.startswith("."))


def _images_in(folder: Path, recursive: bool) -> list[Path]:
    return [p for p in _files_in(folder, recursive) if p.suffix.lower() in INPUT_EXTS]


def _no_images_hint(inputs: list[str], recursive: bool) -> str:
    """What to do when nothing was found: a folder of BMP or GIF files (which Pillow reads but a folder
    run leaves out, as graphics rather than photos) is told how to take them."""
    from PIL import Image

    Image.init()
    others = {ext for ext in Image.registered_extensions() if ext not in INPUT_EXTS}
    left = [p for raw in inputs if Path(raw).is_dir() for p in _files_in(Path(raw), recursive) if p.suffix.lower() in others]
    if left:
        exts = ", ".join(sorted({p.suffix.lower() for p in left}))
        return (f"a folder gives only its photos ({PHOTO_KINDS}); to restore its {exts} files, "
                f"name them or give a pattern, e.g. \"{left[0].parent / ('*' + left[0].suffix)}\"")
    return "pass image files, folders (with -r to descend) or glob patterns"


# What our commands add to an output's stem besides --suffix: never inputs when a folder or a pattern
# is expanded (a re-run in place wrote *_deblurred_deblurred.jpg and failed every original).
DERIVED = ("_compare", "_blurmap", "_blurmap_preview", "_kernel")
OUR_SUFFIXES = ("_deblurred", "_defocused")


def is_our_output(path: PurePath, suffix: str) -> bool:
    """A file one of our runs wrote: its stem ends with ``suffix`` or a default suffix, or with one of
    those followed by a derived ending (``_compare``, ``_blurmap``…)."""
    stem = path.stem
    for s in {suffix, *OUR_SUFFIXES} - {""}:
        if stem.endswith(s) or any(stem.endswith(s + d) for d in DERIVED):
            return True
    return False


def expand(inputs: list[str], recursive: bool, suffix: str = "", skip: Path | None = None) -> list[tuple[Path, Path | None]]:
    """(file, base folder or None) for every input: files, folders, glob patterns. Folders and
    patterns leave out our own outputs (``is_our_output``) and, when walking, the folder ``skip`` (the
    run's -o folder); a file named explicitly is always taken."""
    out: list[tuple[Path, Path | None]] = []
    skip_r = skip.resolve() if skip is not None and skip.is_dir() else None

    def keep(f: Path, base: Path | None = None) -> bool:
        if is_our_output(f, suffix):
            return False
        inside = skip_r is not None and skip_r in f.resolve().parents
        return not inside or (base is not None and base.resolve() == skip_r)  # -o the input folder itself

    for raw in inputs:
        p = Path(raw)
        if p.is_dir():
            out += [(f, p) for f in _images_in(p, recursive) if keep(f, p)]
        elif p.exists() or not any(c in raw for c in "*?["):
            out.append((p, None))
        else:
            matches = sorted(Path(m) for m in glob.glob(raw, recursive=True) if Path(m).is_file())
            if not matches:
                raise UsageError(f"no files match {raw!r}")
            out += [(m, None) for m in matches if keep(m)]
    return out


def _ext(src: PurePath, fmt: OutFormat) -> str:
    if fmt != "same":
        return EXT_FOR[fmt]
    if src.suffix.lower() in (".heic", ".heif"):
        return ".jpg"  # a phone's photo: JPEG, which everything opens (--format png keeps more)
    if src.suffix.lower() in RAW_EXTS:
        return ".tif"  # a camera's RAW: developed to 16 bits, kept at 16 bits
    return src.suffix if src.suffix.lower() in IMAGE_EXTS else ".png"


def output_name(src: PurePath, opts: NamingOptions) -> str:
    """The file name an input's output gets: its stem, ``--suffix``, the extension ``--format`` says."""
    return f"{src.stem}{opts.suffix}{_ext(src, opts.format)}"


def _once(files: list[tuple[Path, Path | None]]) -> list[tuple[Path, Path | None]]:
    """Each file once, where it was first named (a file and a pattern or folder that holds it)."""
    firsts: dict[Path, tuple[Path, Path | None]] = {}
    for f, base in files:
        firsts.setdefault(f.resolve(), (f, base))
    return list(firsts.values())


def plan_jobs(inputs: list[str], opts: NamingOptions, sides: tuple[str, ...] = (), reads: tuple[Path | None, ...] = ()) -> list[Job]:
    """One ``Job`` per input, every file it will write named now (``plan.Plan``): its output and its
    ``sides`` (``SIDE_FILES``). A job whose output or side file would replace any input of the run
    (``reads``: the files options name, as --kernel or --prior) or a file another job writes gets its
    ``error`` here, before any work."""
    out_dir = opts.output if opts.output is not None and opts.output.is_dir() else None
    files = _once(expand(inputs, opts.recursive, opts.suffix, out_dir))
    if not files:
        raise UsageError("no input images found", _no_images_hint(inputs, opts.recursive))
    out = opts.output
    names_file = out is not None and not (out.is_dir() or str(out).endswith(("/", "\\")) or out.suffix == "")
    if names_file and len(files) > 1 and out.suffix.lower() in IMAGE_EXTS:  # type: ignore[union-attr]
        raise UsageError(f"-o {out} names one file, but {len(files)} inputs were given",
                         f"give a folder for their outputs, e.g. -o {out.with_suffix('')}/")  # type: ignore[union-attr]
    to_dir = out is not None and (len(files) > 1 or not names_file)
    plan = Plan().read(*(f for f, _ in files), *reads)
    jobs: list[Job] = []
    for src, base in files:
        name = output_name(src, opts)
        if out is None:
            dest = src.with_name(name)
        elif to_dir:
            rel = src.parent.relative_to(base) if base is not None else Path()
            dest = out / rel / name
        else:
            if out.suffix.lower() not in IMAGE_EXTS:
                raise UsageError(f"-o {out}: cannot write {out.suffix!r} files",
                                 f"use one of {', '.join(sorted(set(IMAGE_EXTS)))}, or a folder")
            dest = out
        err = None
        for what, path in {"output": dest, **side_files(dest, sides)}.items():
            why = plan.conflict(path, what)
            if why is not None and err is None:
                err = f"{why}; run it again with its own -o folder or --suffix"
        jobs.append(Job(src, dest, err))
    return jobs


# The files a photo command may write beside each output (``BatchOptions.sides``), by what they hold:
# (kind of side, ending added to the output's stem, extension or None for the output's own).
SIDE_FILES: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "compare": (("compare image", "_compare", None),),
    "kernel": (("kernel trace", "_kernel", ".png"), ("kernel", "_kernel", ".npy")),
    "blurmap": (("blur map", "_blurmap", ".png"), ("blur-map preview", "_blurmap_preview", ".png")),
}


def side_files(dest: Path, sides: tuple[str, ...]) -> dict[str, Path]:
    """The side files of the output ``dest`` (what each holds → its path), for the ``sides`` asked for."""
    return {what: dest.with_name(f"{dest.stem}{ending}{ext or dest.suffix}")
            for side in sides for what, ending, ext in SIDE_FILES[side]}


Writer = Callable[[Path, bool], object]  # write(path, overwrite): atomically, an existing file kept without overwrite


@dataclass
class Restored:
    """What a ``Process`` gives back: the restored RGB, and a writer for each side file it can make
    (keyed as ``SIDE_FILES`` names them); a side file asked for without a writer is not written."""

    rgb: np.ndarray
    sides: dict[str, Writer] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)  # reported per file (progress line, --json)


Process = Callable[[Job, Photo, Callable[[int, int], None]], "np.ndarray | Restored"]


@dataclass(frozen=True)
class BatchOptions:
    overwrite: bool = False
    skip_existing: bool = False
    max_megapixels: float = 200.0
    quality: int = 95
    strength: float = 1.0
    compare: bool = False
    strip_metadata: bool = False  # drop EXIF (GPS included) and XMP from the outputs, for sharing
    extra: tuple[str, ...] = ()  # more side files: "kernel" (--save-kernel), "blurmap" (--save-map)

    @property
    def sides(self) -> tuple[str, ...]:
        """Every kind of side file this run writes beside an output (``SIDE_FILES``)."""
        return (("compare",) if self.compare else ()) + self.extra


def check_strength(strength: float) -> None:
    """The one rule for ``strength``, the CLI's (``--strength``) and the API's."""
    if not (isinstance(strength, (int, float)) and 0.0 <= strength <= 1.0):
        raise UsageError(f"strength {strength!r}: expected a number from 0 (the input) to 1 (full restoration)")


def neutral(pixels: np.ndarray) -> bool:
    """Whether an RGB photo is grey in colour storage (R = G = B everywhere): it is restored as grey."""
    if pixels.shape[2] != 3:
        return False
    few = pixels[::16, ::16]  # most colour photos are told at once
    if not (np.array_equal(few[..., 0], few[..., 1]) and np.array_equal(few[..., 1], few[..., 2])):
        return False
    return np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])


def blend(photo: Photo, restored_rgb: np.ndarray, strength: float) -> np.ndarray:
    """Mix the restoration with the input (strength 0 = input, 1 = full); a grey photo stays grey,
    stored as grey or as RGB with R = G = B. Works in place on ``restored_rgb`` (the caller's fresh
    array): no whole-image temporaries."""
    check_strength(strength)
    out = restored_rgb if restored_rgb.dtype == np.float32 else restored_rgb.astype(np.float32)
    if strength != 1.0:
        base = photo.rgb()
        out -= base
        out *= np.float32(strength)
        out += base
    if photo.gray:
        out = out.mean(axis=2, keepdims=True, dtype=np.float32)
    elif neutral(photo.pixels):
        out[...] = out.mean(axis=2, keepdims=True, dtype=np.float32)
    return np.clip(out, 0, 1, out=out)


def side_by_side(before: Photo, after: Photo) -> Photo:
    """Before | after, 8 px apart, with the input's colour profile (no alpha)."""
    gap = np.ones((before.pixels.shape[0], 8, before.pixels.shape[2]), np.float32)
    return Photo(np.concatenate([before.pixels, gap, after.pixels], axis=1), before.bits, None, before.icc,
                 before.exif, before.xmp, before.dpi, before.format)


def _unwritable(folder: Path) -> str:
    """Why nothing can be written into ``folder`` (found before any network runs), or ''."""
    try:
        check_writable(folder)
    except DeblurError as e:
        return str(e) + (f" ({e.hint})" if e.hint else "")
    return ""


def settled_before_work(src: Path | str, dest: Path | str | None, error: str | None, exists: Callable[[], bool],
                        opts: BatchOptions, side_exists: Callable[[], Path | None] = lambda: None) -> FileResult | None:
    """The result of a file that is settled before any work — its plan's ``error``, or its output
    ``exists()`` (kept unless --overwrite), or without --skip-existing a side file that
    ``side_exists()`` (kept unless --overwrite; with --skip-existing it is kept and the photo is
    finished: a resumed batch) — or None when it is to be restored."""
    if error:
        return FileResult(src, dest, "failed", error)
    if dest is not None and not opts.overwrite and exists():
        if opts.skip_existing:
            return FileResult(src, dest, "skipped", "output exists (--skip-existing)")
        return FileResult(src, dest, "failed", f"output {dest} exists; {OutputExistsError.hint}")
    if dest is not None and not opts.overwrite and not opts.skip_existing and (side := side_exists()) is not None:
        return FileResult(src, dest, "failed", f"{side} exists; {OutputExistsError.hint}")
    return None


def triage(jobs: list[Job], opts: BatchOptions) -> tuple[list[FileResult], list[Job]]:
    """Results for the jobs that are settled before any work (bad input, output exists) and the rest."""
    settled: list[FileResult] = []
    todo: list[Job] = []
    unwritable: dict[Path, str] = {}
    for folder in {j.dest.parent for j in jobs if j.dest is not None}:
        clean_stale_parts(folder)  # a killed run's hidden leftovers
        unwritable[folder] = _unwritable(folder)
    for j in jobs:
        error = j.error or (unwritable[j.dest.parent] if j.dest is not None else "")
        res = settled_before_work(j.src, j.dest, error, lambda: j.dest is not None and j.dest.exists(), opts,
                                  lambda: _existing_side(j.dest, opts.sides))
        if res is not None:
            settled.append(res)
        else:
            todo.append(j)
    return settled, todo


def _existing_side(dest: Path | None, sides: tuple[str, ...]) -> Path | None:
    return next((p for p in side_files(dest, sides).values() if p.exists()), None) if dest is not None else None


class Reader:
    """Decodes the photos to process one ahead, on a thread. Made before the model loads, so the first
    photo's decode overlaps importing torch and loading weights (image decoding releases the GIL)."""

    def __init__(self, jobs: list[Job], opts: BatchOptions) -> None:
        self.settled, self.todo = triage(jobs, opts)
        self._max_mp = opts.max_megapixels
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="deblur-read")
        self._futures: dict[int, Future] = {}
        self._submit(0)

    def _submit(self, i: int) -> None:
        if i < len(self.todo) and i not in self._futures:
            self._futures[i] = self._pool.submit(read_photo, self.todo[i].src, self._max_mp)

    def photo(self, i: int) -> Future:
        """The future of photo ``i``; starts decoding photo ``i + 1``."""
        self._submit(i)
        fut = self._futures.pop(i)
        self._submit(i + 1)
        return fut

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def run_batch(jobs: list[Job], process: Process, opts: BatchOptions,
              on_start: Callable[[Job], None] | None = None,
              on_tiles: Callable[[int, int], None] | None = None,
              reader: Reader | None = None) -> Iterator[FileResult]:
    """Process every job; yield one result per job (settled ones first). Never raises for a single bad
    file. ``reader``: one already reading these jobs (``Reader(jobs, opts)``); closed here."""
    reader = reader or Reader(jobs, opts)
    yield from reader.settled
    writer = ThreadPoolExecutor(1, thread_name_prefix="deblur-write")
    pending: tuple[Future, FileResult] | None = None
    try:
        for i, job in enumerate(reader.todo):
            fut = reader.photo(i)
            t0 = time.perf_counter()
            if on_start:
                on_start(job)
            res = FileResult(job.src, job.dest, "done")
            try:
                photo = fut.result()
                out, sides = _restore(job, photo, process, opts, on_tiles, res)
                if pending is not None:
                    yield _finish(*pending, opts.skip_existing)
                pending = (writer.submit(_write, photo, out, job.dest, opts, sides), res)
            except Exception as e:  # noqa: BLE001 — one file's fault, whatever it is, never ends the batch
                res.status, res.reason = "failed", failure(e)
            res.seconds = time.perf_counter() - t0
            if res.status == "failed":
                yield res
        if pending is not None:
            yield _finish(*pending, opts.skip_existing)
    finally:
        reader.close()
        writer.shutdown(wait=True)


def failure(e: BaseException) -> str:
    """The one-line reason a file failed: our error's message and hint, or the foreign error's type."""
    if isinstance(e, DeblurError):
        return str(e) + (f" ({e.hint})" if e.hint else "")
    return f"{type(e).__name__}: {e}"


def _restore(job: Job, photo: Photo, process: Process, opts: BatchOptions,
             on_tiles: Callable[[int, int], None] | None, res: FileResult) -> tuple[Photo, dict[str, Writer]]:
    """The output photo of ``job`` (restored, blended by strength, metadata kept or stripped) and the
    writers of its side files."""
    res.megapixels = photo.megapixels
    res.size = (int(photo.pixels.shape[1]), int(photo.pixels.shape[0]))
    restored = process(job, photo, on_tiles or (lambda d, n: None))
    if not isinstance(restored, Restored):
        restored = Restored(restored)
    res.info = dict(restored.info)
    out = photo.with_pixels(blend(photo, restored.rgb, opts.strength))
    if opts.strip_metadata:
        out.exif, out.xmp = None, None  # the ICC profile stays: it is the colours' meaning
    res.warnings = out.warnings
    return out, restored.sides


def run_one(job: Job, process: Process, opts: BatchOptions) -> FileResult:
    """One job from start to end on this thread — read, restore, write — as ``run_batch`` does each
    of its jobs, for workers that take one file at a time (the Ray actors). Never raises for the file."""
    t0 = time.perf_counter()
    res = FileResult(job.src, job.dest, "done")
    try:
        photo = read_photo(job.src, opts.max_megapixels)
        out, sides = _restore(job, photo, process, opts, None, res)
    except Exception as e:  # noqa: BLE001 — as in run_batch
        res.status, res.reason = "failed", failure(e)
    else:
        try:
            _write(photo, out, job.dest, opts, sides)
        except Exception as e:  # noqa: BLE001
            settle_write(e, res, opts.skip_existing)
    res.seconds = time.perf_counter() - t0
    return res


def _write(photo: Photo, out: Photo, dest: Path | None, opts: BatchOptions, sides: dict[str, Writer] | None = None) -> None:
    """The side files first, the output last: an output that exists is a finished photo, and a side
    file is written only with its photo (if the photo cannot be written, this run's side files go).
    A side file that exists is kept: with --skip-existing (a resumed batch), or as ``publish`` keeps it."""
    assert dest is not None
    writers = dict(sides or {})
    writers["compare image"] = lambda p, o: write_photo(side_by_side(photo, out), p, opts.quality, overwrite=o)
    written: list[Path] = []
    try:
        for what, path in side_files(dest, opts.sides).items():
            if what not in writers:
                continue  # nothing to write (e.g. no kernel was used): the process said why in a warning
            if not opts.overwrite and opts.skip_existing and path.exists():
                out.warnings.append(f"kept the existing {what} {path.name} (--skip-existing)")
                continue
            writers[what](path, opts.overwrite)
            written.append(path)
        write_photo(out, dest, opts.quality, overwrite=opts.overwrite)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise


def _finish(fut: Future, res: FileResult, skip_existing: bool = False) -> FileResult:
    exc = fut.exception()
    if exc is not None:
        settle_write(exc, res, skip_existing)
    return res


def settle_write(exc: BaseException, res: FileResult, skip_existing: bool) -> None:
    if isinstance(exc, OutputExistsError):  # another run published it meanwhile: theirs is kept
        res.status, res.reason = ("skipped" if skip_existing else "failed"), str(exc)
    else:  # an encoder's fault is this file's, never the batch's
        res.status, res.reason = "failed", f"write failed: {exc}"


__all__ = ["BatchOptions", "FileResult", "Job", "NamingOptions", "Reader", "Restored", "SIDE_FILES", "failure", "plan_jobs",
           "run_batch", "run_one", "side_files"]
