"""Regression tests for the reliability battery's faults (no wrong picture with exit 0, no batch lost to
one bad file, nothing overwritten). Each test names the fault it holds, by its number in the issue."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from typer.testing import CliRunner

from deblurcli.cli.main import app, route
from deblurcli.engine.runner import Runner, RunConfig, check_output, pick_device
from deblurcli.errors import InputError, ModelOutputError, OutputExistsError, UsageError, WeightsError
from deblurcli.io.images import Photo, orient, read_photo, write_photo

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, route(list(args)))


def _rgb(h: int = 40, w: int = 56, seed: int = 0, dtype: type = np.uint8) -> np.ndarray:
    top = 65535 if dtype == np.uint16 else 255
    return (np.random.default_rng(seed).random((h, w, 3)) * top).astype(dtype)


def _jpeg(path: Path, seed: int = 0) -> Path:
    Image.fromarray(_rgb(seed=seed)).save(path, quality=95)
    return path


# 1. TIFF orientation applied once, 16-bit TIFF stays 16-bit --------------------------------------

@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("o", range(1, 9))
def test_tiff_orientation_applied_once_and_bits_kept(tmp_path: Path, o: int, bits: int) -> None:
    a = _rgb(30, 50, seed=o, dtype=np.uint16 if bits == 16 else np.uint8)
    f = tmp_path / f"o{o}.tif"
    tifffile.imwrite(f, a, photometric="rgb", extratags=[(274, "H", 1, o, True)])
    p = read_photo(f)
    assert p.bits == bits
    want = orient(a, o).astype(np.float32) / (65535 if bits == 16 else 255)
    assert p.pixels.shape == want.shape
    assert np.abs(p.pixels - want).max() < 1e-6


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp"])
@pytest.mark.parametrize("o", [3, 6, 8])
def test_other_formats_orientation_applied_once(tmp_path: Path, o: int, fmt: str) -> None:
    yy, xx = np.mgrid[0:30, 0:50]
    a = np.stack([xx * 5, yy * 8, (xx + yy) * 3], -1).astype(np.uint8)  # smooth, and no symmetry
    e = Image.Exif()
    e[0x0112] = o
    f = tmp_path / f"o{o}.{fmt}"
    Image.fromarray(a).save(f, exif=e.tobytes(), **({"lossless": True} if fmt == "webp" else {"quality": 100} if fmt == "jpg" else {}))
    p = read_photo(f)
    assert p.pixels.shape[:2] == orient(a, o).shape[:2]
    tol = 0.02 if fmt == "jpg" else 1e-6
    assert np.abs(p.pixels - orient(a, o) / 255).mean() < tol
    assert Image.open(write_photo(p, tmp_path / f"out.{fmt}")).getexif().get(0x0112, 1) == 1


# 2. TIFF output from a photo with camera EXIF (sub-IFDs) --------------------------------------------

def test_tiff_output_of_camera_exif_keeps_going(tiny_registry: Path, tmp_path: Path) -> None:
    e = Image.Exif()
    e.get_ifd(0x8769)[0x829A] = (1, 250)
    e[0x010F] = "TestCam"
    Image.fromarray(_rgb()).save(tmp_path / "cam.jpg", exif=e.tobytes())
    _jpeg(tmp_path / "next.jpg", seed=1)
    r = invoke(str(tmp_path / "cam.jpg"), str(tmp_path / "next.jpg"), "--format", "tiff", "-q")
    assert r.exit_code == 0, r.output
    out = Image.open(tmp_path / "cam_deblurred.tif")
    assert out.getexif().get(0x010F) == "TestCam"  # the main tags are carried
    assert (tmp_path / "next_deblurred.tif").exists()


# 3. Broken metadata never aborts the batch -----------------------------------------------------------

def _corrupt_exif_jpeg(path: Path) -> Path:
    e = Image.Exif()
    e[0x010F] = "X" * 40
    Image.fromarray(_rgb()).save(path, exif=e.tobytes(), quality=95)
    data = bytearray(path.read_bytes())
    i = data.find(b"Exif\x00\x00")
    data[i + 6 : i + 14] = b"MM\x00\x2a\xff\xff\xff\xf0"  # an IFD offset far beyond the block
    path.write_bytes(bytes(data))
    return path


def test_corrupt_exif_is_dropped_and_the_photo_restored(tiny_registry: Path, tmp_path: Path) -> None:
    f = _corrupt_exif_jpeg(tmp_path / "a.jpg")
    p = read_photo(f)
    assert p.pixels.shape == (40, 56, 3)
    r = invoke(str(f), "-q")
    assert r.exit_code == 0 and (tmp_path / "a_deblurred.jpg").exists()


def test_a_tiff_without_dimensions_fails_alone(tiny_registry: Path, tmp_path: Path) -> None:
    bad = tmp_path / "a_bad.tif"
    tifffile.imwrite(bad, _rgb(), photometric="rgb")
    data = bytearray(bad.read_bytes())
    for tag in (256, 257):  # ImageWidth, ImageLength -> an unknown tag
        i = data.find(tag.to_bytes(2, "little") + b"\x03\x00\x01\x00\x00\x00")
        if i < 0:
            i = data.find(tag.to_bytes(2, "little") + b"\x04\x00\x01\x00\x00\x00")
        assert i > 0
        data[i : i + 2] = (65000 + tag % 7).to_bytes(2, "little")
    bad.write_bytes(bytes(data))
    good = _jpeg(tmp_path / "b_good.jpg")
    r = invoke(str(bad), str(good), "-q")
    assert r.exit_code == 1
    assert (tmp_path / "b_good_deblurred.jpg").exists()
    assert not (tmp_path / "a_bad_deblurred.tif").exists()


def test_truncated_png_is_one_line_input_error(tmp_path: Path) -> None:
    f = tmp_path / "t.png"
    Image.fromarray(_rgb(200, 200)).save(f)
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_photo(f)


# 4. Corrupt checkpoints and impossible outputs ------------------------------------------------------

def test_output_check_refuses_non_finite_and_far_out_of_range() -> None:
    check_output(torch.full((1, 3, 8, 8), 0.5))
    check_output(torch.full((1, 3, 8, 8), 1.2))  # a little overshoot is a picture
    with pytest.raises(ModelOutputError):
        check_output(torch.tensor([[[[0.5, float("nan")]]]]))
    with pytest.raises(ModelOutputError):
        check_output(torch.full((1, 3, 8, 8), -40.0))


def test_a_network_that_outputs_nan_fails_the_file_not_exit_0(tiny_registry: Path, tmp_path: Path) -> None:
    from deblurcli.archs import build
    from deblurcli.models import store

    from .conftest import TINY

    m = build("lcnet", TINY["lcnet"])
    with torch.no_grad():
        next(iter(m.parameters())).fill_(float("inf"))
    f = tmp_path / "broken.safetensors"
    store.save(m, f)
    r = invoke(str(_jpeg(tmp_path / "p.jpg")), "--weights", str(f), "-q")
    assert r.exit_code == 1
    assert not (tmp_path / "p_deblurred.jpg").exists()


def test_a_flipped_byte_in_a_saved_checkpoint_is_refused(tmp_path: Path) -> None:
    from deblurcli.archs import build
    from deblurcli.models import store

    from .conftest import TINY

    f = tmp_path / "w.safetensors"
    store.save(build("lcnet", TINY["lcnet"]), f)
    data = bytearray(f.read_bytes())
    data[-5] ^= 0x40
    f.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="corrupt"):
        store.load(f)


# 5. A checkpoint for the wrong task -------------------------------------------------------------------

def test_wrong_task_checkpoints_are_refused(tiny_registry: Path, tmp_path: Path) -> None:
    p = str(_jpeg(tmp_path / "p.jpg"))
    for mid in ("tiny-blurmap", "tiny-svbr"):
        r = invoke(p, "--model", mid)
        assert r.exit_code == 2, r.output
        assert "not a blind deblurring network" in " ".join(r.output.split())
    r = invoke("defocus", p, "--model", "tiny-lcnet")
    assert r.exit_code == 2
    assert not list(tmp_path.glob("*_deblurred*")) and not list(tmp_path.glob("*_defocused*"))


# 6. Never overwrite, checked at publish time ----------------------------------------------------------

def test_publish_never_replaces_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    dest = tmp_path / "out.png"
    photo = Photo(np.full((8, 8, 3), 0.5, np.float32))
    dest.write_bytes(b"theirs")
    with pytest.raises(OutputExistsError):
        write_photo(photo, dest, overwrite=False)
    assert dest.read_bytes() == b"theirs"
    assert not list(tmp_path.glob(".*.part"))
    write_photo(photo, dest, overwrite=True)
    assert Image.open(dest).size == (8, 8)


def test_a_concurrent_run_output_is_kept(tiny_registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another run publishes our output between our start-up check and our write: theirs stays."""
    import deblurcli.batch as batch

    srcs = [_jpeg(tmp_path / f"p{i}.jpg", seed=i) for i in range(3)]
    real = batch.write_photo

    def racing(photo, dest, quality=95, overwrite=True):  # type: ignore[no-untyped-def]
        if dest.name == "p1_deblurred.jpg":
            dest.write_bytes(b"other run")
        return real(photo, dest, quality, overwrite)

    monkeypatch.setattr(batch, "write_photo", racing)
    r = invoke(*map(str, srcs), "-q")
    assert r.exit_code == 1
    assert (tmp_path / "p1_deblurred.jpg").read_bytes() == b"other run"
    assert (tmp_path / "p0_deblurred.jpg").exists() and (tmp_path / "p2_deblurred.jpg").exists()


# 7 and 13. Options that would write wrong pictures or raise tracebacks -------------------------------

@pytest.mark.parametrize("args", [["--overlap=-100", "--tile", "256"], ["--max-megapixels", "-1"], ["--suffix", "/x"],
                                  ["--device", "tpu"], ["--device", "gpu"], ["--device", "0"]])
def test_bad_options_are_usage_errors(tiny_registry: Path, tmp_path: Path, args: list[str]) -> None:
    r = invoke(str(_jpeg(tmp_path / "p.jpg")), *args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "p_deblurred.jpg").exists()


def test_device_names_and_hints() -> None:
    with pytest.raises(UsageError) as e:
        pick_device("gpu")
    assert "cuda" in e.value.hint
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA"):
            pick_device("cuda:1")
    assert pick_device("CPU").type == "cpu"


# 8. XMP in 8-bit PNG outputs; 11. 16-bit grey + alpha stays grey ---------------------------------------

def test_xmp_survives_8_bit_png(tmp_path: Path) -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">rating 5</x:xmpmeta>'
    p = Photo(np.full((8, 8, 3), 0.5, np.float32), xmp=xmp)
    assert read_photo(write_photo(p, tmp_path / "x.png")).xmp == xmp


def test_16_bit_grey_alpha_png_stays_grey(tmp_path: Path) -> None:
    g = (np.random.default_rng(0).random((20, 30, 1)) * 65535).astype(np.float32) / 65535
    alpha = (np.arange(600).reshape(20, 30) * 100).astype(np.uint16)
    p = Photo(g, bits=16, alpha=alpha)
    back = read_photo(write_photo(p, tmp_path / "la.png"))
    assert back.gray and back.bits == 16
    assert np.array_equal(back.alpha, alpha)
    assert np.abs(back.pixels - g).max() <= 0.5 / 65535 + 1e-7
    assert (tmp_path / "la.png").read_bytes()[25] == 4  # PNG colour type 4: grey + alpha


# 9. Blur maps beyond the trained range ------------------------------------------------------------------

def test_out_of_range_blur_map_is_clamped_with_a_note() -> None:
    from deblurcli.defocusing.mapfile import to_trained_range

    notes: list[str] = []
    r = to_trained_range(np.full((4, 4), 20.0, np.float32), notes)
    assert float(r.max()) == 6.0 and notes and "clamped" in notes[0]
    with pytest.raises(InputError):
        to_trained_range(np.full((4, 4), -1.0, np.float32), [])
    quiet: list[str] = []
    to_trained_range(np.full((4, 4), 3.0, np.float32), quiet)
    assert quiet == []


# 10. The Hub download has one deadline ------------------------------------------------------------------

def test_a_silent_endpoint_fails_within_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from deblurcli.hub.registry import parse_entry, tomllib
    from deblurcli.hub.resolve import resolve

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)  # accepts connections (the kernel does) and never answers
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{srv.getsockname()[1]}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DEBLUR_DOWNLOAD_TIMEOUT", "2")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    raw = tomllib.loads('[weights.x]\narch = "lcnet"\ntask = "motion"\nsha256 = "' + "0" * 64 + '"\nsize = 1\nlicense = "t"\n'
                '[weights.x.hub]\nrepo_id = "a/b"\nfilename = "x.safetensors"\nrevision = "' + "1" * 40 + '"\n')
    entry = parse_entry("x", raw["weights"]["x"], tmp_path, "test")
    t0 = time.monotonic()
    with pytest.raises(WeightsError, match="did not finish within 2 s"):
        resolve(entry)
    assert time.monotonic() - t0 < 15
    srv.close()


# 12. Long file names ---------------------------------------------------------------------------------------

def test_a_long_legal_name_is_written(tmp_path: Path) -> None:
    dest = tmp_path / ("n" * 230 + ".png")
    write_photo(Photo(np.full((8, 8, 3), 0.5, np.float32)), dest)
    assert dest.exists()


# 14. Memory: refused up front, with the numbers -------------------------------------------------------------

def test_a_photo_beyond_free_memory_is_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import deblurcli.io.photo as photo

    f = tmp_path / "big.png"
    Image.fromarray(_rgb(400, 500)).save(f)
    monkeypatch.setattr(photo, "available_memory", lambda: 1 << 20)
    with pytest.raises(InputError, match=r"needs about .* GiB, .* GiB is free"):
        read_photo(f)


# 15. Smaller ones ---------------------------------------------------------------------------------------------

def test_read_only_output_folder_is_found_before_the_network_runs(tiny_registry: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import deblurcli.batch as batch
    import deblurcli.io.images as images

    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    if os.geteuid() == 0:  # root writes anywhere: the folder is read-only as far as access() says
        real = images.can_write
        monkeypatch.setattr(images, "can_write", lambda p: False if Path(p) == out else real(p))
    ran: list[str] = []
    monkeypatch.setattr(batch, "read_photo", lambda *a: ran.append("read") or images.read_photo(*a))
    try:
        r = invoke(str(_jpeg(tmp_path / "p.jpg")), "-o", str(out) + "/")
        assert r.exit_code == 1, r.output
        text = " ".join(r.output.split())
        assert "cannot write to" in text and ".part" not in text
        assert ran == []  # refused before the photo was even decoded
    finally:
        out.chmod(0o700)


def test_calibration_pair_warnings() -> None:
    from deblurcli.calibration.align import pair_warnings

    a = np.random.default_rng(0).random((60, 80, 3)).astype(np.float32)
    assert any("identical" in w for w in pair_warnings(a, a.copy()))
    assert any("sizes differ" in w for w in pair_warnings(a, np.zeros((75, 100, 3), np.float32)))
    assert pair_warnings(a, np.clip(a + 0.1, 0, 1)) == []


# HEIC input (the generalisation of "every format × orientation"; issue 25's formats) --------------------

def test_heic_photo_is_read_upright_once_and_written_as_jpeg(tiny_registry: Path, tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    yy, xx = np.mgrid[0:48, 0:64]
    a = np.stack([xx * 4, yy * 5, (xx + yy) * 2], -1).astype(np.uint8)
    e = Image.Exif()
    e[0x0112] = 6
    e[0x010F] = "Phone"
    f = tmp_path / "IMG_0001.HEIC"
    Image.fromarray(a).save(f, format="HEIF", exif=e.tobytes(), quality=95)
    p = read_photo(f)
    assert p.pixels.shape == (64, 48, 3) and p.orientation == 6
    assert np.abs(p.pixels - orient(a, 6) / 255).mean() < 0.03
    r = invoke(str(tmp_path), "-q")
    assert r.exit_code == 0, r.output
    out = Image.open(tmp_path / "IMG_0001_deblurred.jpg")
    assert out.size == (48, 64) and out.getexif().get(0x010F) == "Phone"


# Camera RAW input: a DNG the test writes (a real Bayer mosaic, decoded by LibRaw, never a mock) ----------

def _dng(path: Path, cfa: np.ndarray, orientation: int = 1, make: str = "TestCam") -> Path:
    """A minimal DNG: an RGGB mosaic (12-bit values in uint16), identity colour matrix, neutral white."""
    tags = [(50706, "B", 4, (1, 4, 0, 0), True), (50707, "B", 4, (1, 4, 0, 0), True),
            (50708, "s", 0, make + " 1", True), (271, "s", 0, make, True), (272, "s", 0, make + " 1", True),
            (33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),
            (50714, "H", 1, 0, True), (50717, "H", 1, 4095, True),
            (50721, "i", 18, (10000, 10000, 0, 10000, 0, 10000, 0, 10000, 10000, 10000, 0, 10000, 0, 10000, 0, 10000, 10000, 10000), True),
            (50778, "H", 1, 21, True), (50728, "I", 6, (1, 1, 1, 1, 1, 1), True), (274, "H", 1, orientation, True)]
    tifffile.imwrite(path, cfa, photometric=32803, compression=None, extratags=tags, metadata=None)
    return path


def test_a_camera_raw_is_developed_upright_at_16_bits_and_written_as_tiff(tiny_registry: Path, tmp_path: Path) -> None:
    pytest.importorskip("rawpy")
    cfa = np.full((64, 96), 400, np.uint16)
    cfa[:, 48:] = 3600  # the right half bright
    f = _dng(tmp_path / "DSC_0001.DNG", cfa, orientation=6)  # the camera was turned: rotate 90° clockwise
    p = read_photo(f)
    assert p.bits == 16 and p.pixels.shape == (96, 64, 3) and p.orientation == 6 and p.format == "RAW"
    assert p.pixels[:40].mean() < 0.5 * p.pixels[56:].mean()  # the sensor's left half is now at the top
    r = invoke(str(f), "-q")
    assert r.exit_code == 0, r.output
    out = tifffile.imread(tmp_path / "DSC_0001_deblurred.tif")
    assert out.dtype == np.uint16 and out.shape == (96, 64, 3)
    with tifffile.TiffFile(tmp_path / "DSC_0001_deblurred.tif") as t:  # the camera's make and model carried
        assert t.pages[0].tags["Make"].value == "TestCam" and t.pages[0].tags["Model"].value == "TestCam 1"
    r = invoke(str(f), "--format", "jpg", "-q")  # and into a JPEG's EXIF
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "DSC_0001_deblurred.jpg").getexif().get(0x010F) == "TestCam"


def test_a_raw_name_on_an_ordinary_tiff_is_refused_not_its_preview_restored(tiny_registry: Path, tmp_path: Path) -> None:
    """Most RAW files are TIFFs whose first picture is a small preview: read as a TIFF, the output would
    be that thumbnail with exit 0. A RAW extension goes to LibRaw only, which refuses what it cannot develop."""
    pytest.importorskip("rawpy")
    f = tmp_path / "thumb.nef"
    Image.fromarray(np.full((24, 32, 3), 128, np.uint8)).save(f, format="TIFF")
    with pytest.raises(InputError, match="not a camera RAW file"):
        read_photo(f)
    r = invoke(str(f), "-q")
    assert r.exit_code == 1 and not list(tmp_path.glob("thumb_deblurred*"))


@pytest.mark.parametrize("bits", [8, 16])
def test_a_tiff_with_an_orientation_tag_from_tifffile_is_written_upright(tmp_path: Path, bits: int) -> None:
    """tifffile's EXIF is the TIFF's whole first IFD (strips, sizes, its shape description): handed back
    to the encoder it failed the photo ("encoder error -8"). Now: written, upright, at its bit depth."""
    import tifffile

    dt = np.uint8 if bits == 8 else np.uint16
    a = (np.random.default_rng(0).random((24, 40, 3)) * np.iinfo(dt).max).astype(dt)
    tifffile.imwrite(tmp_path / "o.tif", a, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    r = CliRunner().invoke(app, route([str(tmp_path / "o.tif"), "-q"]))
    assert r.exit_code == 0, r.output
    out = tifffile.imread(tmp_path / "o_deblurred.tif")
    assert out.shape == (40, 24, 3) and out.dtype == dt  # orientation 6 applied once, bits kept
    with Image.open(tmp_path / "o_deblurred.tif") as im:
        desc = str(im.getexif().get(270, ""))
        assert im.getexif().get(274, 1) == 1 and "[24, 40" not in desc  # not the input's shape, which tifffile would read


@pytest.mark.parametrize("store", ["16-bit RGBA", "16-bit RGB", "8-bit RGB", "8-bit RGBA"])
def test_a_grey_photo_stored_as_colour_stays_grey(tmp_path: Path, store: str) -> None:
    bits, mode = store.split()
    dt = np.uint16 if bits == "16-bit" else np.uint8
    rng = np.random.default_rng(1)
    g = (cv2.GaussianBlur(rng.random((48, 64)).astype(np.float32), (0, 0), 2) * np.iinfo(dt).max).astype(dt)
    planes = [g, g, g] + ([np.full_like(g, np.iinfo(dt).max)] if mode == "RGBA" else [])
    cv2.imwrite(str(tmp_path / "g.png"), np.stack(planes, -1))
    r = CliRunner().invoke(app, route([str(tmp_path / "g.png"), "-q"]))
    assert r.exit_code == 0, r.output
    out = cv2.imread(str(tmp_path / "g_deblurred.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == dt and out.shape[2] == len(planes)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert not np.array_equal(out[..., 0], g)  # restored, not copied


def test_others_checkpoints_without_spandrel_say_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import torch

    torch.save({"x": torch.zeros(1)}, tmp_path / "m.pth")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "p.png")
    monkeypatch.setitem(sys.modules, "spandrel", None)  # "not installed": its import raises ImportError
    r = CliRunner().invoke(app, route([str(tmp_path / "p.png"), "--weights", str(tmp_path / "m.pth")]))
    assert r.exit_code == 1 and r.output.count("error:") == 1
    assert "pip install --no-deps spandrel==0.4.2 einops" in r.output.replace("\n", " ")
