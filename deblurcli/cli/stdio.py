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


@contextmanager
def stdio(inputs: list[str], output: Path | None, fmt: str, as_json: bool) -> Iterator[tuple[list[str], Path | None]]:
    """(inputs, output) with `-` replaced by temporary files; on leaving, the output is copied to stdout."""
    to_stdout = output is not None and str(output) == "-"
    if "-" not in inputs and not to_stdout:
        yield inputs, output
        return
    if to_stdout and as_json:
        raise UsageError("-o - and --json both want stdout", "use --json-file, or write the photo to a file")
    if "-" in inputs and len(inputs) > 1:
        raise UsageError("`-` (stdin) is one photo: give no other inputs with it")
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
