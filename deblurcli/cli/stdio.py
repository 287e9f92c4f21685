"""`-` as an input (the photo on stdin) and as -o (the result on stdout), for pipes:
`cat photo.jpg | deblur - -o - > sharp.jpg`. The bytes go through a private temporary folder, so the
batch code (metadata, atomic writes, errors) is the same as for files."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UsageError

MAGIC = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG", ".png"), (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"), (b"RIFF", ".webp"))


def _sniff(data: bytes) -> str:
    for magic, ext in MAGIC:
        if data.startswith(magic):
            return ext
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return ".heic"
    raise UsageError("stdin holds no JPEG, PNG, TIFF, WebP or HEIC photo")


SIDE_OPTIONS = {"compare": "--compare", "kernel": "--save-kernel", "blurmap": "--save-map"}


@contextmanager
def stdio(inputs: list[str], output: Path | str | None, fmt: str, as_json: bool,
          sides: tuple[str, ...] = ()) -> Iterator[tuple[list[str], Path | None]]:
    """(inputs, output) with `-` replaced by temporary files; on leaving, the output is copied to stdout.
    Everything that would be written into the temporary folder and lost is refused first: a photo from
    stdin with no -o, and side files (``sides``) of a photo that goes to stdout."""
    to_stdout = output is not None and str(output) == "-"
    if "-" not in inputs and not to_stdout:
        yield inputs, (Path(output) if output is not None else None)
        return
    if to_stdout and as_json:
        raise UsageError("-o - and --json both want stdout", "write the photo to a file with -o FILE and keep --json")
    if "-" in inputs and len(inputs) > 1:
        raise UsageError("`-` (stdin) is one photo: give no other inputs with it")
    if "-" in inputs and output is None:
        raise UsageError("a photo from stdin needs -o: there is no folder to put its output beside",
                         "add -o out.jpg (a file), -o out/ (a folder) or -o - (stdout)")
    if to_stdout and sides:
        names = ", ".join(SIDE_OPTIONS[s] for s in sides)
        raise UsageError(f"-o - sends one photo to stdout: the files {names} writes beside it would be lost",
                         "give -o FILE instead of -o -")
    with tempfile.TemporaryDirectory(prefix="deblur-stdio-") as tmp:
        folder = Path(tmp)
        if "-" in inputs:
            data = sys.stdin.buffer.read()
            if not data:
                raise UsageError("stdin is empty", "pipe a photo in: cat photo.jpg | deblur - -o out.jpg")
            src = folder / f"stdin{_sniff(data)}"
            src.write_bytes(data)
            inputs = [str(src)]
        elif to_stdout and len(inputs) != 1:
            raise UsageError("-o - writes one photo: give exactly one input")
        dest = output
        if to_stdout:
            src_ext = Path(inputs[0]).suffix.lower()
            ext = {"png": ".png", "jpg": ".jpg", "tiff": ".tif", "webp": ".webp"}.get(fmt) or (
                ".jpg" if src_ext in (".heic", ".heif", "") else src_ext)
            dest = folder / f"out{ext}"
        yield inputs, dest
        if to_stdout and dest is not None and dest.exists():
            with dest.open("rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
