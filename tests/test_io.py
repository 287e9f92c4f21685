"""Image I/O round trips: EXIF (orientation 6), ICC, XMP, DPI, 16-bit PNG/TIFF, gray, RGBA, palette,
CMYK, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from deblurcli.errors import InputError
from deblurcli.io.images import ORIENTATION, Photo, read_photo, write_photo


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _gradient(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx / w, yy / h, (xx + yy) / (w + h)], -1).astype(np.float32)


def test_jpeg_exif_orientation_icc_xmp_dpi(tmp_path: Path) -> None:
    arr = (_gradient(40, 60) * 255).astype(np.uint8)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "TestCam"  # Make
    icc = _srgb_icc()
    src = tmp_path / "in.jpg"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    img.save(src, exif=exif, icc_profile=icc, dpi=(300, 300), quality=95, xmp=xmp)
    ph = read_photo(src)
    assert ph.pixels.shape == (60, 40, 3)  # orientation 6 = rotate 90° clockwise
    assert ph.icc == icc and ph.xmp is not None and b"xmpmeta" in ph.xmp
    dst = write_photo(ph, tmp_path / "out.jpg")
    with Image.open(dst) as o:
        assert o.size == (40, 60)
        assert o.info.get("icc_profile") == icc
        ex = o.getexif()
        assert ex.get(ORIENTATION) == 1 and ex.get(0x010F) == "TestCam"
        assert tuple(round(v) for v in o.info["dpi"]) == (300, 300)
        assert b"xmpmeta" in (o.info.get("xmp") or b"")
    # Pixels: the upright image matches a rotation of the original.
    back = read_photo(dst).pixels
    expect = np.rot90(arr, -1).astype(np.float32) / 255
    assert np.abs(back - expect).mean() < 0.02


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_rgb_round_trip(tmp_path: Path, ext: str) -> None:
    a = (_gradient(33, 47) * 65535).astype(np.uint16)
    src = tmp_path / f"in{ext}"
    cv2.imwrite(str(src), a[..., ::-1])
    ph = read_photo(src)
    assert ph.bits == 16 and ph.pixels.shape == (33, 47, 3)
    assert np.abs(ph.pixels * 65535 - a).max() <= 0.5
    ph.icc = _srgb_icc()
    dst = write_photo(ph, tmp_path / f"out{ext}")
    back = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    assert np.array_equal(back[..., ::-1], a)
    assert read_photo(dst).icc == ph.icc


def test_16bit_gray_png(tmp_path: Path) -> None:
    a = (np.linspace(0, 65535, 30 * 20).reshape(30, 20)).astype(np.uint16)
    src = tmp_path / "g16.png"
    cv2.imwrite(str(src), a)
    ph = read_photo(src)
    assert ph.bits == 16 and ph.gray
    dst = write_photo(ph, tmp_path / "o.png")
    back = cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.ndim == 2 and np.array_equal(back, a)


def test_8bit_gray_stays_gray(tmp_path: Path) -> None:
    src = tmp_path / "g.png"
    Image.fromarray((np.arange(600).reshape(20, 30) % 256).astype(np.uint8), "L").save(src)
    ph = read_photo(src)
    assert ph.gray and ph.bits == 8 and ph.rgb().shape == (20, 30, 3)
    with Image.open(write_photo(ph, tmp_path / "o.png")) as o:
        assert o.mode == "L"


def test_rgba_alpha_untouched(tmp_path: Path) -> None:
    rgba = np.zeros((16, 24, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[..., 3] = np.arange(24, dtype=np.uint8)[None] * 10
    src = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(src)
    ph = read_photo(src)
    assert ph.alpha is not None
    ph2 = ph.with_pixels(np.clip(ph.pixels + 0.1, 0, 1))
    with Image.open(write_photo(ph2, tmp_path / "o.png")) as o:
        assert o.mode == "RGBA"
        assert np.array_equal(np.asarray(o)[..., 3], rgba[..., 3])


def test_palette_and_cmyk(tmp_path: Path) -> None:
    p = tmp_path / "p.png"
    Image.fromarray((_gradient(10, 10) * 255).astype(np.uint8)).convert("P").save(p)
    assert read_photo(p).pixels.shape == (10, 10, 3)
    c = tmp_path / "c.jpg"
    Image.new("CMYK", (12, 8), (0, 255, 255, 0)).save(c)
    ph = read_photo(c)
    assert ph.pixels.shape == (8, 12, 3) and any("CMYK" in w for w in ph.warnings)
    assert ph.pixels[..., 0].mean() > 0.8 and ph.pixels[..., 1].mean() < 0.2  # red


def test_multi_frame_input_restores_the_first_frame_and_says_so(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 10), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    f = tmp_path / "pages.tif"
    frames[0].save(f, save_all=True, append_images=frames[1:])
    ph = read_photo(f)
    assert ph.pixels.shape == (10, 20, 3) and ph.pixels[..., 0].mean() > 0.99  # the first page: red
    assert any("3 frames/pages" in w for w in ph.warnings)
    single = tmp_path / "one.tif"
    frames[1].save(single)
    assert not read_photo(single).warnings


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    good = tmp_path / "good.jpg"
    Image.fromarray((_gradient(64, 64) * 255).astype(np.uint8)).save(good, quality=90)
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    for path, words in ((empty, "empty"), (text, "not an image"), (trunc, "truncated"), (tmp_path / "nope.jpg", "no such file")):
        with pytest.raises(InputError, match=words):
            read_photo(path)
    with pytest.raises(InputError, match="MP limit"):
        read_photo(good, max_megapixels=0.001)


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import deblurcli.io.images as images

    def boom(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(images, "_pil_save", boom)
    dst = tmp_path / "out.jpg"
    dst.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt):
        write_photo(Photo(_gradient(8, 8)), dst)
    assert dst.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jpg"]


def test_blend_strength_gray_and_range() -> None:
    """``batch.blend``: strength mixes linearly with the input, gray input gives gray output, values
    outside [0, 1] are clipped, and the result is float32."""
    from deblurcli.batch import blend
    from deblurcli.io.images import Photo

    rng = np.random.default_rng(0)
    base = rng.random((8, 9, 3), dtype=np.float32)
    restored = rng.random((8, 9, 3), dtype=np.float32) * 1.4 - 0.2
    photo = Photo(base)
    half = blend(photo, restored.copy(), 0.5)
    assert half.dtype == np.float32
    assert np.allclose(half, np.clip(base + 0.5 * (restored - base), 0, 1), atol=1e-6)
    full = blend(photo, restored.copy(), 1.0)
    assert np.array_equal(full, np.clip(restored, 0, 1))
    assert np.array_equal(blend(photo, restored.copy(), 0.0), base)
    gray = Photo(base[..., :1])
    g = blend(gray, np.repeat(base[..., :1], 3, axis=2) + 0.1, 1.0)
    assert g.shape == (8, 9, 1) and np.allclose(g, np.clip(base[..., :1] + 0.1, 0, 1), atol=1e-6)


def test_reader_decodes_ahead_and_settles_jobs_before_work(tmp_path: Path) -> None:
    """``batch.Reader`` starts decoding the first photo when made (before the model loads), sorts out
    jobs whose output exists, and ``run_batch`` processes exactly the rest, in order."""
    import time

    from deblurcli.batch import BatchOptions, NamingOptions, Reader, plan_jobs, run_batch

    srcs = []
    for i in range(3):
        p = tmp_path / f"p{i}.png"
        Image.fromarray(np.full((8, 10, 3), 40 * i, np.uint8)).save(p)
        srcs.append(p)
    (tmp_path / "p1_deblurred.png").write_bytes(b"keep me")
    jobs = plan_jobs([str(p) for p in srcs], NamingOptions())
    reader = Reader(jobs, BatchOptions(skip_existing=True))
    assert [j.src.name for j in reader.todo] == ["p0.png", "p2.png"]
    assert [(r.src.name, r.status) for r in reader.settled] == [("p1.png", "skipped")]
    deadline = time.time() + 10
    while not reader._futures[0].done() and time.time() < deadline:
        time.sleep(0.01)
    srcs[0].unlink()  # already decoded: nothing reads it again
    seen = []
    results = list(run_batch(jobs, lambda job, photo, cb: seen.append(photo.pixels.mean()) or photo.rgb(),
                             BatchOptions(skip_existing=True), reader=reader))
    assert [(r.src.name, r.status) for r in results] == [("p1.png", "skipped"), ("p0.png", "done"), ("p2.png", "done")]
    assert seen == pytest.approx([0.0, 80 / 255], abs=1e-6)
    assert (tmp_path / "p1_deblurred.png").read_bytes() == b"keep me"


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif"])
def test_outputs_get_the_usual_file_permissions(tmp_path: Path, ext: str) -> None:
    """Atomic writes go through an owner-only temporary file; the output must not stay owner-only."""
    import os

    from deblurcli.io import images

    out = write_photo(Photo(_gradient(16, 24)), tmp_path / f"out{ext}")
    assert out.stat().st_mode & 0o777 == 0o666 & ~images._UMASK
    assert not list(tmp_path.glob(".*.part"))
    if images._UMASK == 0o022:
        assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    assert os.access(out, os.R_OK)
