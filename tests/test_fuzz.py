"""Seeded fuzzing of image headers: whatever a mutated JPEG/PNG/TIFF/WebP holds, reading it either gives
a photo or this file's ``InputError`` — nothing escapes per-file error handling — and a batch over
them writes no output for a file that failed while every good file is restored."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from deblurcli.batch import BatchOptions, NamingOptions, plan_jobs, run_batch
from deblurcli.errors import DeblurError
from deblurcli.io.images import read_photo

FORMATS = ("jpg", "png", "tif", "webp")
PER_FORMAT = 80  # 320 mutated files in all


def _base(fmt: str) -> bytes:
    rng = np.random.default_rng(7)
    a = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    if fmt == "tif":
        tifffile.imwrite(buf, a, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
        return buf.getvalue()
    e = Image.Exif()
    e[0x0112] = 3
    e[0x010F] = "FuzzCam"
    Image.fromarray(a).save(buf, format={"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[fmt], exif=e.tobytes())
    return buf.getvalue()


def _mutants(fmt: str, n: int, seed: int) -> list[bytes]:
    """Mutations of the header region (the first 256 bytes): flipped bits, random bytes, cut files,
    repeated or deleted spans."""
    base = _base(fmt)
    rng = np.random.default_rng([seed, FORMATS.index(fmt)])
    out = []
    for _ in range(n):
        d = bytearray(base)
        head = min(256, len(d))
        kind = int(rng.integers(4))
        if kind == 0:
            for _ in range(int(rng.integers(1, 6))):
                i = int(rng.integers(head))
                d[i] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            i = int(rng.integers(head - 4))
            d[i : i + 4] = bytes(rng.integers(0, 256, 4, dtype=np.uint8))
        elif kind == 2:
            d = d[: int(rng.integers(8, len(d)))]
        else:
            i, j = sorted(int(v) for v in rng.integers(0, head, 2))
            d = d[:i] + d[j:] if rng.random() < 0.5 else d[:j] + d[i:j] + d[j:]
        out.append(bytes(d))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("fuzz")
    files = []
    for fmt in FORMATS:
        for i, data in enumerate(_mutants(fmt, PER_FORMAT, seed=2026)):
            f = root / f"{fmt}_{i:03d}.{fmt}"
            f.write_bytes(data)
            files.append(f)
    return files


def test_every_mutant_reads_or_fails_as_its_own_input_error(corpus: list[Path]) -> None:
    assert len(corpus) >= 300
    read = 0
    for f in corpus:
        try:
            p = read_photo(f)
        except DeblurError:
            continue
        read += 1
        assert p.pixels.ndim == 3 and p.pixels.shape[2] in (1, 3) and np.isfinite(p.pixels).all()
    assert 0 < read < len(corpus)  # the corpus holds both readable and broken files


def test_a_batch_over_the_mutants_goes_on_and_writes_nothing_for_failures(corpus: list[Path], tmp_path: Path) -> None:
    good = tmp_path / "in" / "zz_good.png"
    good.parent.mkdir()
    Image.fromarray((np.random.default_rng(1).random((24, 32, 3)) * 255).astype(np.uint8)).save(good)
    inputs = [str(f) for f in corpus[::4]] + [str(good)]
    jobs = plan_jobs(inputs, NamingOptions(output=tmp_path / "out", format="png"))
    results = list(run_batch(jobs, lambda job, photo, cb: photo.rgb().copy(), BatchOptions()))
    assert len(results) == len(jobs)
    for r in results:
        assert r.dest is not None
        assert r.dest.exists() == (r.status == "done"), (r.src, r.status, r.reason)
    assert next(r for r in results if r.src == good).status == "done"
    assert any(r.status == "failed" for r in results)
    assert not list((tmp_path / "out").glob(".*.part"))
